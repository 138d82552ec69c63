"""Sound cues of the line view: a short tone per NG or ERROR part, switched by a setting.

The tones are small WAV files shipped in ``resources/sounds/`` (made by :func:`write_default_sounds`,
``python -m inspector.ui.line_sound resources/sounds``). They play through QtMultimedia's
``QSoundEffect`` when the PySide6 add-ons are installed (``pip install PySide6-Addons``); without
them, or when a file is missing or cannot be played, the system bell rings instead
(``QApplication.beep``). Nothing here needs audio hardware: a station without a sound card
simply stays quiet.
"""

from __future__ import annotations

import logging
import math
import struct
import sys
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QUrl
from PySide6.QtWidgets import QApplication

from inspector.core.paths import resources_dir
from inspector.ui.settings import get_flag, set_flag
from inspector.ui.tasks import TaskRunner, TaskState

log = logging.getLogger(__name__)

SOUND_KEY = "line_view/sound"  # "true" / "false"; off by default (a line may have its own horn)
RATE = 22050
# (frequency Hz, seconds) per tone, 0 Hz = silence: NG two short high beeps, ERROR three falling tones
TONES: dict[str, list[tuple[float, float]]] = {
    "NG": [(880.0, 0.12), (0.0, 0.06), (880.0, 0.12)],
    "ERROR": [(660.0, 0.14), (0.0, 0.04), (520.0, 0.14), (0.0, 0.04), (392.0, 0.22)],
}


def sounds_dir() -> Path:
    return resources_dir() / "sounds"


def sound_file(verdict: str, folder: Path | None = None) -> Path:
    return (folder or sounds_dir()) / f"{verdict.lower()}.wav"


def write_tones(path: Path, tones: list[tuple[float, float]], volume: float = 0.45) -> Path:
    """A mono 16-bit WAV of ``tones``, each faded in and out over 5 ms (no clicks). Deterministic."""
    frames = bytearray()
    fade = int(0.005 * RATE)
    for freq, seconds in tones:
        n = round(seconds * RATE)
        for i in range(n):
            env = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
            value = volume * env * math.sin(2 * math.pi * freq * i / RATE) if freq > 0 else 0.0
            frames += struct.pack("<h", round(32767 * value))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return path


def write_default_sounds(folder: Path) -> list[Path]:
    return [write_tones(sound_file(v, folder), tones) for v, tones in TONES.items()]


def _sound_files_job(_state: TaskState, paths: dict[str, Path]) -> dict[str, bool]:
    """Which of the cues' files are there (off the UI thread)."""
    return {verdict: path.is_file() for verdict, path in paths.items()}


def _sound_effect_class() -> Any:
    """QtMultimedia's QSoundEffect, or None without the PySide6 add-ons."""
    try:
        from PySide6.QtMultimedia import QSoundEffect
    except ImportError:
        return None
    return QSoundEffect


class LineSound(QObject):
    """Plays the cue of a verdict (NG, ERROR) when the setting is on. ``played`` records what was
    played, as ``(verdict, "wav" | "beep")`` (the last 100), for the tests and the look-back.

    Whether the cues' files are there is checked once, by a job of the GUI task runner started
    here (never on the UI thread during a run); until its answer comes a cue rings the bell."""

    def __init__(
        self,
        settings: QSettings,
        folder: Path | None = None,
        parent: QObject | None = None,
        *,
        effect_class: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.folder = folder
        self._effect_class = effect_class if effect_class is not None else _sound_effect_class()
        self._effects: dict[str, Any] = {}
        self.played: list[tuple[str, str]] = []
        self._present: dict[str, bool] = {}  # verdict -> its file is there (the check's answer)
        self._tasks = TaskRunner(self, "line-sound")
        if self._effect_class is not None:
            paths = {verdict: sound_file(verdict, folder) for verdict in TONES}
            self._tasks.submit("line-sound-files", _sound_files_job, paths, on_done=self._files_checked)

    def _files_checked(self, present: dict[str, bool]) -> None:
        self._present = present

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """Wait for the file check and take its answer (tests, set-up tools)."""
        return self._tasks.wait(timeout)

    @property
    def enabled(self) -> bool:
        return get_flag(self.settings, SOUND_KEY, False)

    def set_enabled(self, on: bool) -> None:
        set_flag(self.settings, SOUND_KEY, on)

    def cue(self, verdict: str) -> str | None:
        """Play ``verdict``'s cue; returns how ("wav", "beep") or None (off, or no cue for it)."""
        if not self.enabled or verdict not in TONES:
            return None
        how = "wav" if self._play_wav(verdict) else "beep"
        if how == "beep":
            QApplication.beep()
        self.played = [*self.played[-99:], (verdict, how)]
        return how

    def _play_wav(self, verdict: str) -> bool:
        if self._effect_class is None:
            return False
        effect = self._effects.get(verdict)
        if effect is None:
            if not self._present.get(verdict, False):  # no file, or the check has not answered yet
                return False
            path = sound_file(verdict, self.folder)
            effect = self._effect_class()
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(1.0)
            self._effects[verdict] = effect
        status = getattr(effect, "status", None)
        error = getattr(getattr(effect, "Status", None), "Error", None)
        if status is not None and error is not None and status() == error:  # no device, bad file
            return False
        effect.play()
        return True


if __name__ == "__main__":  # python -m inspector.ui.line_sound resources/sounds
    for p in write_default_sounds(Path(sys.argv[1] if len(sys.argv) > 1 else "resources/sounds")):
        print(p)

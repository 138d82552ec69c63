"""Image sources: one small interface (:class:`Source`) for folders, hot folders,
OpenCV cameras/streams/video files and GenICam cameras; ``open_source(spec)`` picks one.

GenICamSource is imported on demand (it needs the optional ``harvesters`` package).
"""

from inspector.core.sources.base import Source, SourceStats
from inspector.core.sources.factory import SPEC_HELP, VIDEO_EXTENSIONS, open_source
from inspector.core.sources.folder import FolderSource
from inspector.core.sources.hotfolder import HotFolderSource
from inspector.core.sources.video import VideoSource

__all__ = [
    "SPEC_HELP",
    "VIDEO_EXTENSIONS",
    "FolderSource",
    "HotFolderSource",
    "Source",
    "SourceStats",
    "VideoSource",
    "open_source",
]

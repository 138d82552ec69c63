"""File ▸ Choose product…: the operator picks a product by the name they know, not files.

The list shows every product with what it runs (model, recipe version, source, line I/O, the
images it expects); Choose switches model, recipe and source in one step (audited, refused while
a run or a lot is active). An engineer (or admin) can save the current setup as a product and
import products; anyone can export products as one file (``inspector product export/import``
does the same headless).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector.core.accounts import Right
from inspector.core.model_card import sha256_file
from inspector.services import products
from inspector.services.products import ImageSpec, LineSettings, ProductSpec, SourceSettings, StoredProduct
from inspector.ui.tasks import WRITE_LANE, TaskRunner, TaskState

if TYPE_CHECKING:
    from inspector.ui.line_control import ProductController


def describe_html(p: StoredProduct) -> str:
    s = p.spec

    def label(text: str) -> str:
        return QCoreApplication.translate("ProductPicker", text)

    rate = (
        label(QT_TRANSLATE_NOOP("ProductPicker", "learnt from the log"))
        if s.normal_defect_rate is None
        else f"{100 * s.normal_defect_rate:.1f} %"
    )
    revision = QCoreApplication.translate("ProductPicker", "{revision} · {time} by {user}").format(
        revision=p.revision,
        time=f"{p.updated_at.astimezone():%Y-%m-%d %H:%M}",
        user=escape(p.updated_by or "?"),
    )
    rows = [
        (
            QT_TRANSLATE_NOOP("ProductPicker", "Model"),
            f"{escape(p.model_name)} · <code>{s.model_sha256[:12]}</code>",
        ),
        (QT_TRANSLATE_NOOP("ProductPicker", "Recipe"), f"{escape(s.recipe_name)} v{s.recipe_version}"),
        (QT_TRANSLATE_NOOP("ProductPicker", "Source"), escape(s.source.describe())),
        (QT_TRANSLATE_NOOP("ProductPicker", "Images"), escape(s.image.describe())),
        (QT_TRANSLATE_NOOP("ProductPicker", "Line I/O"), escape(s.line_io.describe())),
        (QT_TRANSLATE_NOOP("ProductPicker", "Normal defect rate"), rate),
        (QT_TRANSLATE_NOOP("ProductPicker", "Revision"), revision),
    ]
    body = "".join(f"<tr><td><b>{label(k)}</b></td><td>{v}</td></tr>" for k, v in rows)
    desc = f"<p>{escape(s.description)}</p>" if s.description else ""
    return f"<h2>{escape(s.name)}</h2>{desc}<table cellpadding='3'>{body}</table>"


class ProductPicker(QDialog):
    def __init__(self, controller: ProductController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Choose product"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # a fresh list each time it is opened
        self.resize(900, 480)
        self.c = controller
        self.ctx = controller.ctx
        self.tasks = TaskRunner(self, "products")
        self.products: list[StoredProduct] = []
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(self.tr("type to find a product"))
        self.filter_edit.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setMinimumWidth(280)
        # large rows: the operator picks by the name on the screen, often with a touch screen
        self.list.setStyleSheet("QListWidget { font-size: 16px; } QListWidget::item { padding: 10px 6px; }")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.why_label = QLabel("")
        self.why_label.setProperty("error", True)
        self.why_label.setWordWrap(True)
        self.choose_button = QPushButton(self.tr("Choose"))
        self.choose_button.setProperty("primary", True)
        self.choose_button.setDefault(True)
        self.new_button = QPushButton(self.tr("Save current as product…"))
        self.import_button = QPushButton(self.tr("Import…"))
        self.export_button = QPushButton(self.tr("Export…"))
        self.close_button = QPushButton(self.tr("Close"))
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.filter_edit)
        ll.addWidget(self.list, 1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.detail, 1)
        rl.addWidget(self.why_label)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.import_button, self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.choose_button)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addLayout(buttons)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.list.currentRowChanged.connect(lambda _r: self._show_current())
        self.list.itemDoubleClicked.connect(lambda _i: self.choose_selected())
        self.choose_button.clicked.connect(self.choose_selected)
        self.new_button.clicked.connect(self.new_from_current)
        self.import_button.clicked.connect(lambda: self.import_file())
        self.export_button.clicked.connect(lambda: self.export_selected())
        self.close_button.clicked.connect(self.reject)
        # a bound slot, not a lambda: Qt drops it with the (deleted-on-close) dialog
        self.ctx.role_changed.connect(self._on_role)
        self._update_buttons()
        self.reload()

    # -- list ---------------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        db = self.ctx.db
        self.tasks.submit(
            "product-list",
            lambda _s: products.list_products(db),
            on_done=lambda got: self._fill(got, select),
            on_error=lambda msg: self.why_label.setText(
                self.tr("Products could not be read: {error}").format(error=msg)
            ),
        )

    def _fill(self, got: list[StoredProduct], select: str | None) -> None:
        self.products = got
        current = self.c.product.spec.name if self.c.product is not None else None
        self.list.clear()
        for p in got:
            item = QListWidgetItem(("● " if p.name == current else "   ") + p.name)
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            item.setToolTip(p.spec.description or p.name)
            self.list.addItem(item)
        want = select or current
        rows = [
            i for i in range(self.list.count()) if self.list.item(i).data(Qt.ItemDataRole.UserRole) == want
        ]
        self.list.setCurrentRow(rows[0] if rows else (0 if got else -1))
        if not got:
            self.detail.setText(
                self.tr(
                    "<h2>No products yet</h2><p>An engineer: set up model, recipe "
                    "and source on the Live tab, "
                    "then <b>Save current as product…</b>, or import a product file.</p>"
                )
            )
        self._apply_filter(self.filter_edit.text())
        self._update_buttons()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in str(item.data(Qt.ItemDataRole.UserRole)).lower())

    def selected(self) -> StoredProduct | None:
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return None
        name = item.data(Qt.ItemDataRole.UserRole)
        return next((p for p in self.products if p.name == name), None)

    def select(self, name: str) -> bool:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(i)
                return True
        return False

    def _show_current(self) -> None:
        p = self.selected()
        if p is not None:
            self.detail.setText(describe_html(p))
        self._update_buttons()

    def _on_role(self, _role: str) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        why = self.c.why_not_switch()
        have = self.selected() is not None
        self.choose_button.setEnabled(have and why is None)
        self.why_label.setText(why or "")
        needs = self.ctx.needs(Right.PRODUCTS)  # products are set up by engineers
        self.new_button.setEnabled(not needs)
        self.import_button.setEnabled(not needs)
        tip = self.tr("Setting up products {needs}").format(needs=needs) if needs else ""
        self.new_button.setToolTip(tip)
        self.import_button.setToolTip(tip)
        self.export_button.setEnabled(have)

    # -- actions -------------------------------------------------------------------------------
    def choose_selected(self) -> bool:
        p = self.selected()
        if p is None or not self.c.choose(p.name):
            self._update_buttons()
            return False
        self.accept()
        return True

    def export_selected(self, path: Path | None = None) -> bool:
        p = self.selected()
        if p is None:
            return False
        if path is None:
            start = str(Path.home() / f"{products.slug(p.name)}.product.json")
            chosen, _ = QFileDialog.getSaveFileName(
                self, self.tr("Export product"), start, self.tr("Product (*.json)")
            )
            if not chosen:
                return False
            path = Path(chosen)
        db, name = self.ctx.db, p.name
        self.tasks.submit(
            "product-export",
            lambda _s: products.write_export(db, name, path),
            on_done=lambda written: self.ctx.notify(
                "info", self.tr("Product {name} exported to {path}").format(name=name, path=written)
            ),
            on_error=lambda msg: self.ctx.notify(
                "error", self.tr("Product {name} not exported: {error}").format(name=name, error=msg)
            ),
            supersede=False,
        )
        return True

    def import_file(self, path: Path | None = None, replace: bool = False) -> bool:
        if self.ctx.refuse(Right.PRODUCTS, QT_TRANSLATE_NOOP("Refusal", "Importing a product")):
            return False
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, self.tr("Import product"), str(Path.home()), self.tr("Product (*.json)")
            )
            if not chosen:
                return False
            path = Path(chosen)
        db, actor = self.ctx.db, self.ctx.user
        beside = Path(path).parent / "model.onnx"

        def run(_state: TaskState) -> products.ImportResult:
            doc = products.read_export(Path(path))
            model = None
            if beside.is_file() and sha256_file(beside) == (doc.get("product") or {}).get("model_sha256"):
                model = beside
            return products.import_product(db, doc, actor, model_path=model, replace=replace)

        def done(result: products.ImportResult) -> None:
            self.ctx.notify(
                "info",
                (
                    self.tr("Product {name} imported")
                    if result.created
                    else self.tr("Product {name} imported (replaced the existing one)")
                ).format(name=result.product.name),
            )
            for note in result.notes:
                self.ctx.notify("warning", note)
            self.reload(select=result.product.name)

        self.tasks.submit(
            "product-import",
            run,
            on_done=done,
            lane=WRITE_LANE,
            supersede=False,
            on_error=lambda msg: self.ctx.notify(
                "error", self.tr("Product not imported: {error}").format(error=msg)
            ),
        )
        return True

    def new_from_current(self) -> NewProductDialog | None:
        if self.ctx.refuse(Right.PRODUCTS, QT_TRANSLATE_NOOP("Refusal", "Saving a product")):
            return None
        dialog = NewProductDialog(self.c, self)
        dialog.saved.connect(lambda name: self.reload(select=name))
        dialog.show()
        return dialog


class NewProductDialog(QDialog):
    """Engineer: the current model, recipe and source (and the line I/O given here) as a product."""

    saved = Signal(str)

    def __init__(self, controller: ProductController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Save current setup as a product"))
        self.c = controller
        self.ctx = controller.ctx
        self.tasks = TaskRunner(self, "product-save")
        ctx = self.ctx
        choice = controller.live.chooser.choice()
        self.source = SourceSettings(
            kind=choice.kind,
            spec=choice.text.strip(),
            recursive=choice.recursive,
            skip_logged=choice.skip_logged,
        )
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(self.tr('e.g. "Housing A, camera 2"'))
        self.name_edit.setMaxLength(200)
        self.desc_edit = QLineEdit()
        card = ctx.model.card
        form = QFormLayout()
        form.addRow(self.tr("Name"), self.name_edit)
        form.addRow(self.tr("Description"), self.desc_edit)
        form.addRow(self.tr("Model"), QLabel(f"{card.name} · {card.sha256[:12]}"))
        form.addRow(self.tr("Recipe"), QLabel(f"{ctx.recipe.name} v{ctx.recipe.version}"))
        form.addRow(self.tr("Source"), QLabel(self.source.describe()))
        last = controller.last_image
        if last:
            expect = (
                self.tr("expect {w}x{h} colour images (as the last part)")
                if last[2] == 3
                else self.tr("expect {w}x{h} gray images (as the last part)")
            ).format(w=last[0], h=last[1])
        else:
            expect = self.tr("expect the size of the last part (no part inspected yet)")
        self.image_check = QCheckBox(expect)
        self.image_check.setEnabled(last is not None)
        self.image_check.setChecked(last is not None)
        form.addRow(self.tr("Images"), self.image_check)
        self.opcua_spin = QSpinBox()
        self.modbus_spin = QSpinBox()
        for spin in (self.opcua_spin, self.modbus_spin):
            spin.setRange(0, 65535)
            spin.setSpecialValueText(self.tr("off"))
        self.mqtt_edit = QLineEdit()
        self.mqtt_edit.setPlaceholderText(self.tr("off, or HOST[:PORT][/PREFIX]"))
        self.triggered_check = QCheckBox(self.tr("the line triggers each part (OPC UA / Modbus)"))
        self.deadline_spin = QDoubleSpinBox()
        self.deadline_spin.setRange(0.1, 60.0)
        self.deadline_spin.setValue(2.0)
        self.deadline_spin.setSuffix(" s")
        form.addRow(self.tr("OPC UA port"), self.opcua_spin)
        form.addRow(self.tr("Modbus TCP port"), self.modbus_spin)
        form.addRow(self.tr("MQTT broker"), self.mqtt_edit)
        form.addRow(self.tr("Triggered"), self.triggered_check)
        form.addRow(self.tr("Line deadline"), self.deadline_spin)
        self.replace_check = QCheckBox(self.tr("replace a product with this name (new revision)"))
        form.addRow("", self.replace_check)
        self.error_label = QLabel("")
        self.error_label.setProperty("error", True)
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)

    def spec(self) -> ProductSpec:
        """The product as entered (ValueError with the reason when something is not valid)."""
        last = self.c.last_image
        image = ImageSpec()
        if self.image_check.isChecked() and last is not None:
            image = ImageSpec(width=last[0], height=last[1], channels=3 if last[2] == 3 else 1)
        line = LineSettings(
            opcua_port=self.opcua_spin.value() or None,
            modbus_port=self.modbus_spin.value() or None,
            mqtt=self.mqtt_edit.text().strip() or None,
            triggered=self.triggered_check.isChecked(),
            deadline_s=self.deadline_spin.value(),
        )
        if line.triggered and line.opcua_port is None and line.modbus_port is None:
            raise ValueError(self.tr("a triggered product needs a trigger input: an OPC UA or a Modbus port"))
        return ProductSpec(
            name=self.name_edit.text(),
            description=self.desc_edit.text().strip(),
            model_sha256=self.ctx.model.card.sha256,
            recipe_name=self.ctx.recipe.name,
            recipe_version=self.ctx.recipe.version,
            source=self.source,
            line_io=line,
            image=image,
        )

    def save(self) -> bool:
        if self.ctx.refuse(Right.PRODUCTS, QT_TRANSLATE_NOOP("Refusal", "Saving a product")):
            return False
        try:
            spec = self.spec()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return False
        db, actor, card, path, recipe = (
            self.ctx.db,
            self.ctx.user,
            self.ctx.model.card,
            self.ctx.model.path,
            self.ctx.recipe,
        )
        replace = self.replace_check.isChecked()

        def run(_state: TaskState) -> StoredProduct:
            from inspector.services.recipes import store_model_and_recipe

            store_model_and_recipe(db, card, path, recipe, actor, f"saved with product {spec.name!r}")
            if replace and products.get_product(db, spec.name) is not None:
                return products.update_product(db, spec, actor)
            return products.create_product(db, spec, actor)

        def done(stored: StoredProduct) -> None:
            self.ctx.notify(
                "info",
                self.tr("Product {name} saved (revision {revision})").format(
                    name=stored.name, revision=stored.revision
                ),
            )
            self.saved.emit(stored.name)
            self.accept()

        self.buttons.setEnabled(False)
        self.tasks.submit("save", run, on_done=done, on_error=self._failed, lane=WRITE_LANE, supersede=False)
        return True

    def _failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error_label.setText(message)

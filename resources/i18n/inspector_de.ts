<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de" sourcelanguage="en">
<context>
    <name>AddUserDialog</name>
    <message>
        <source>Add user</source>
        <translation>Benutzer hinzufügen</translation>
    </message>
    <message>
        <source>e.g. anovak (a-z 0-9 . _ @ -)</source>
        <translation>z. B. anovak (a-z 0-9 . _ @ -)</translation>
    </message>
    <message>
        <source>e.g. Anna Novak</source>
        <translation>z. B. Anna Novak</translation>
    </message>
    <message>
        <source>the same again</source>
        <translation>noch einmal dasselbe</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Benutzername</translation>
    </message>
    <message>
        <source>Full name</source>
        <translation>Vollständiger Name</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Repeat password</source>
        <translation>Passwort wiederholen</translation>
    </message>
    <message>
        <source>The passwords differ.</source>
        <translation>Die Passwörter stimmen nicht überein.</translation>
    </message>
</context>
<context>
    <name>AppContext</name>
    <message>
        <source>needs a personal login (Role ▸ Log in…)</source>
        <translation>erfordert eine persönliche Anmeldung (Rolle ▸ Anmelden…)</translation>
    </message>
    <message>
        <source>{needs} (Role ▸ Log in…)</source>
        <translation>{needs} (Rolle ▸ Anmelden…)</translation>
    </message>
    <message>
        <source>{what} refused: {needs}.</source>
        <translation>{what} abgelehnt: {needs}.</translation>
    </message>
</context>
<context>
    <name>AuditLog</name>
    <message>
        <source>audit event &apos;{action}&apos; could not be written: {error}</source>
        <translation>Audit-Ereignis „{action}“ konnte nicht geschrieben werden: {error}</translation>
    </message>
</context>
<context>
    <name>BackgroundTask</name>
    <message>
        <source>{task} stopped by an unexpected error: {error}</source>
        <translation>{task} durch einen unerwarteten Fehler gestoppt: {error}</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <source>Change password · {user}</source>
        <translation>Passwort ändern · {user}</translation>
    </message>
    <message>
        <source>Current password</source>
        <translation>Aktuelles Passwort</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>Neues Passwort</translation>
    </message>
    <message>
        <source>Repeat new password</source>
        <translation>Neues Passwort wiederholen</translation>
    </message>
    <message>
        <source>at least {n} characters</source>
        <translation>mindestens {n} Zeichen</translation>
    </message>
    <message>
        <source>The new passwords differ.</source>
        <translation>Die neuen Passwörter stimmen nicht überein.</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <source>Too many wrong passwords: wait {wait}.</source>
        <translation>Zu viele falsche Passwörter: {wait} warten.</translation>
    </message>
    <message>
        <source>The current password is wrong.</source>
        <translation>Das aktuelle Passwort ist falsch.</translation>
    </message>
    <message>
        <source>The password was not changed: {error}</source>
        <translation>Das Passwort wurde nicht geändert: {error}</translation>
    </message>
</context>
<context>
    <name>ChangePinDialog</name>
    <message>
        <source>Change QA PIN</source>
        <translation>QS-PIN ändern</translation>
    </message>
    <message>
        <source>Current PIN</source>
        <translation>Aktuelle PIN</translation>
    </message>
    <message>
        <source>New PIN</source>
        <translation>Neue PIN</translation>
    </message>
    <message>
        <source>Repeat new PIN</source>
        <translation>Neue PIN wiederholen</translation>
    </message>
    <message>
        <source>at least {n} characters</source>
        <translation>mindestens {n} Zeichen</translation>
    </message>
    <message>
        <source>The new PINs differ.</source>
        <translation>Die neuen PINs stimmen nicht überein.</translation>
    </message>
</context>
<context>
    <name>CounterTiles</name>
    <message>
        <source>Total</source>
        <translation>Gesamt</translation>
    </message>
    <message>
        <source>Review</source>
        <translation>REVIEW</translation>
    </message>
    <message>
        <source>Errors</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>Parts not inspected (unreadable image, model failure...): never a pass; the recipe&apos;s on_error says whether the line rejects or reviews them</source>
        <translation>Nicht geprüfte Teile (unlesbares Bild, Modellfehler…): nie ein Gutteil; on_error im Rezept legt fest, ob die Linie sie ausschleust oder zur Nachprüfung hält</translation>
    </message>
    <message>
        <source>Yield</source>
        <translation>Ausbeute</translation>
    </message>
    <message>
        <source>OK / all parts (errors included) since the counters were reset</source>
        <translation>OK / alle Teile (einschließlich Fehler) seit dem Zurücksetzen der Zähler</translation>
    </message>
    <message>
        <source>Images/s</source>
        <translation>Bilder/s</translation>
    </message>
    <message>
        <source>over the last {seconds:.0f} s</source>
        <translation>über die letzten {seconds:.0f} s</translation>
    </message>
    <message>
        <source>Latency ms</source>
        <translation>Latenz ms</translation>
    </message>
    <message>
        <source>median time per image, read to verdict, last 50 images</source>
        <translation>Medianzeit pro Bild vom Lesen bis zum Prüfergebnis, letzte 50 Bilder</translation>
    </message>
</context>
<context>
    <name>Curves</name>
    <message>
        <source>Loss</source>
        <translation>Loss</translation>
    </message>
    <message>
        <source>Validation Dice</source>
        <translation>Validierungs-Dice</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>Epoche</translation>
    </message>
    <message>
        <source>train (per step)</source>
        <translation>Training (pro Schritt)</translation>
    </message>
    <message>
        <source>val</source>
        <translation>Val</translation>
    </message>
    <message>
        <source>val Dice</source>
        <translation>Val-Dice</translation>
    </message>
</context>
<context>
    <name>EndLotDialog</name>
    <message>
        <source>End lot</source>
        <translation>Los beenden</translation>
    </message>
    <message>
        <source>counts are being read</source>
        <translation>Zählerstände werden gelesen</translation>
    </message>
    <message>
        <source>&lt;b&gt;End lot {lot}?&lt;/b&gt;&lt;br/&gt;{counts}&lt;br/&gt;&lt;br/&gt;The lot is closed (recorded with your name); its counters start again with the next lot. A lot id is used once.</source>
        <translation>&lt;b&gt;Los {lot} beenden?&lt;/b&gt;&lt;br/&gt;{counts}&lt;br/&gt;&lt;br/&gt;Das Los wird abgeschlossen (mit Ihrem Namen protokolliert); die Zähler beginnen mit dem nächsten Los neu. Eine Losnummer wird nur einmal vergeben.</translation>
    </message>
</context>
<context>
    <name>FlipsTable</name>
    <message>
        <source>ID</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>Logged</source>
        <translation>Protokolliert</translation>
    </message>
    <message>
        <source>Would be</source>
        <translation>Wäre</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>Warum</translation>
    </message>
    <message>
        <source>No replay yet</source>
        <translation>Noch nicht nachgerechnet</translation>
    </message>
    <message>
        <source>No logged inspections with a stored probability map to replay.</source>
        <translation>Keine protokollierten Prüfungen mit gespeicherter Wahrscheinlichkeitskarte zum Nachrechnen.</translation>
    </message>
    <message>
        <source>Replayed {n}: no verdict would change.</source>
        <translation>{n} nachgerechnet: kein Prüfergebnis würde sich ändern.</translation>
    </message>
    <message>
        <source>Replayed {n}: {flips} would change ({kinds}).</source>
        <translation>{n} nachgerechnet: {flips} würden sich ändern ({kinds}).</translation>
    </message>
</context>
<context>
    <name>HistoryModel</name>
    <message>
        <source>loading…</source>
        <translation>lädt…</translation>
    </message>
    <message>
        <source>confirmed NG</source>
        <translation>NG bestätigt</translation>
    </message>
    <message>
        <source>false reject</source>
        <translation>Pseudoausschuss</translation>
    </message>
    <message>
        <source>missed defect</source>
        <translation>Schlupf</translation>
    </message>
    <message>
        <source>confirmed OK</source>
        <translation>OK bestätigt</translation>
    </message>
    <message>
        <source>ID</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>Inspected</source>
        <translation>Geprüft</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Score</source>
        <translation>Score</translation>
    </message>
    <message>
        <source>Regions</source>
        <translation>Regionen</translation>
    </message>
    <message>
        <source>Review</source>
        <translation>Bewertung</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>Bild</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>Station</translation>
    </message>
    <message>
        <source>Could not read the inspection log: {error}</source>
        <translation>Prüfprotokoll nicht lesbar: {error}</translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>Show inspections logged since the list was loaded (Ctrl+R)</source>
        <translation>Seit dem Laden der Liste protokollierte Prüfungen zeigen (Strg+R)</translation>
    </message>
    <message>
        <source>Any verdict</source>
        <translation>Jedes Prüfergebnis</translation>
    </message>
    <message>
        <source>Any review state</source>
        <translation>Jeder Bewertungsstand</translation>
    </message>
    <message>
        <source>Unreviewed</source>
        <translation>Unbewertet</translation>
    </message>
    <message>
        <source>Reviewed</source>
        <translation>Bewertet</translation>
    </message>
    <message>
        <source>Only this station&apos;s inspections (stations logging into this database)</source>
        <translation>Nur die Prüfungen dieser Station (Stationen, die in diese Datenbank schreiben)</translation>
    </message>
    <message>
        <source>All stations</source>
        <translation>Alle Stationen</translation>
    </message>
    <message>
        <source>Exact source name (drop-down lists those in the log); empty = all</source>
        <translation>Genauer Quellenname (die Liste zeigt die im Protokoll); leer = alle</translation>
    </message>
    <message>
        <source>any source</source>
        <translation>jede Quelle</translation>
    </message>
    <message>
        <source>image path starts with…</source>
        <translation>Bildpfad-Anfang…</translation>
    </message>
    <message>
        <source>Since</source>
        <translation>Seit</translation>
    </message>
    <message>
        <source>Until</source>
        <translation>Bis</translation>
    </message>
    <message>
        <source>Could not load inspection {id}: {error}</source>
        <translation>Prüfung {id} konnte nicht geladen werden: {error}</translation>
    </message>
    <message>
        <source>{n} inspections</source>
        <translation>{n} Prüfungen</translation>
    </message>
    <message>
        <source>{n} new — show (Ctrl+R)</source>
        <translation>{n} neu — zeigen (Strg+R)</translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <source>Raw image</source>
        <translation>Rohbild</translation>
    </message>
    <message>
        <source>Mask overlay</source>
        <translation>Maskenüberlagerung</translation>
    </message>
    <message>
        <source>Heatmap</source>
        <translation>Heatmap</translation>
    </message>
    <message>
        <source>Contours + labels</source>
        <translation>Konturen + Beschriftung</translation>
    </message>
    <message>
        <source>How the model&apos;s defect map is drawn over the image</source>
        <translation>Wie die Fehlerkarte des Modells über das Bild gezeichnet wird</translation>
    </message>
    <message>
        <source>Fit</source>
        <translation>Einpassen</translation>
    </message>
    <message>
        <source>Fit the image to the window (wheel zooms, drag pans)</source>
        <translation>Bild ins Fenster einpassen (Mausrad zoomt, Ziehen verschiebt)</translation>
    </message>
    <message>
        <source>View</source>
        <translation>Ansicht</translation>
    </message>
    <message>
        <source>no image to show</source>
        <translation>kein Bild anzuzeigen</translation>
    </message>
    <message>
        <source>x {x}  y {y}  value {value}</source>
        <translation>x {x}  y {y}  Wert {value}</translation>
    </message>
</context>
<context>
    <name>InspectionDetailView</name>
    <message>
        <source>image not available: showing the stored probability map</source>
        <translation>Bild nicht verfügbar: die gespeicherte Wahrscheinlichkeitskarte wird gezeigt</translation>
    </message>
    <message>
        <source>image not available</source>
        <translation>Bild nicht verfügbar</translation>
    </message>
    <message>
        <source>differs from the stored map</source>
        <translation>weicht von der gespeicherten Karte ab</translation>
    </message>
    <message>
        <source>Area px</source>
        <translation>Fläche px</translation>
    </message>
    <message>
        <source>BBox x,y,w,h</source>
        <translation>BBox x,y,b,h</translation>
    </message>
    <message>
        <source>Centroid x,y</source>
        <translation>Schwerpunkt x,y</translation>
    </message>
    <message>
        <source>Mean p</source>
        <translation>Mittl. p</translation>
    </message>
    <message>
        <source>Max p</source>
        <translation>Max. p</translation>
    </message>
    <message>
        <source>No inspection selected</source>
        <translation>Keine Prüfung ausgewählt</translation>
    </message>
    <message>
        <source>Show the reviewer&apos;s mask</source>
        <translation>Maske der Bewertung zeigen</translation>
    </message>
    <message>
        <source>The defect drawn with L (label editor), in cyan over the image</source>
        <translation>Der mit L (Markier-Editor) gezeichnete Fehler, cyan über dem Bild</translation>
    </message>
    <message>
        <source>&lt;b&gt;Reasons&lt;/b&gt;</source>
        <translation>&lt;b&gt;Gründe&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;Regions&lt;/b&gt;</source>
        <translation>&lt;b&gt;Regionen&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;Reviews&lt;/b&gt;</source>
        <translation>&lt;b&gt;Bewertungen&lt;/b&gt;</translation>
    </message>
    <message>
        <source>image could not be read: {error}</source>
        <translation>Bild nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>&lt;b&gt;#{id} &lt;span style=&apos;color:{colour}&apos;&gt;ERROR — not inspected&lt;/span&gt;&lt;/b&gt; · failed at: &lt;b&gt;{stage}&lt;/b&gt; · {time}</source>
        <translation>&lt;b&gt;#{id} &lt;span style=&apos;color:{colour}&apos;&gt;ERROR — nicht geprüft&lt;/span&gt;&lt;/b&gt; · fehlgeschlagen bei: &lt;b&gt;{stage}&lt;/b&gt; · {time}</translation>
    </message>
    <message>
        <source>&lt;b&gt;#{id} {verdict}&lt;/b&gt; score {score:.2f} · {time}</source>
        <translation>&lt;b&gt;#{id} {verdict}&lt;/b&gt; Score {score:.2f} · {time}</translation>
    </message>
    <message>
        <source>&lt;span style=&apos;color:{colour}&apos;&gt;&lt;b&gt;⚠ OVERRIDE&lt;/b&gt;: this model was promoted without passing the gate ({reason})&lt;/span&gt;</source>
        <translation>&lt;span style=&apos;color:{colour}&apos;&gt;&lt;b&gt;⚠ OVERRIDE&lt;/b&gt;: dieses Modell wurde ohne bestandenes Freigabe-Gate freigegeben ({reason})&lt;/span&gt;</translation>
    </message>
    <message>
        <source>station {station} · recipe {recipe} v{version} · threshold {threshold:.2f} · {backend} · model {sha}</source>
        <translation>Station {station} · Rezept {recipe} v{version} · Schwelle {threshold:.2f} · {backend} · Modell {sha}</translation>
    </message>
    <message>
        <source>no image: the part&apos;s file could not be decoded</source>
        <translation>kein Bild: die Datei des Teils konnte nicht dekodiert werden</translation>
    </message>
    <message>
        <source>{disposition} by {user} at {time}</source>
        <translation>{disposition} von {user} am {time}</translation>
    </message>
    <message>
        <source>note: {note}</source>
        <translation>Notiz: {note}</translation>
    </message>
    <message>
        <source>defect mask drawn</source>
        <translation>Fehlermaske gezeichnet</translation>
    </message>
    <message>
        <source>not reviewed</source>
        <translation>nicht bewertet</translation>
    </message>
</context>
<context>
    <name>InspectionWorker</name>
    <message>
        <source>inspection stopped by an unexpected error: {error}</source>
        <translation>Prüfung durch einen unerwarteten Fehler gestoppt: {error}</translation>
    </message>
    <message>
        <source>the model could not be loaded: {error}</source>
        <translation>das Modell konnte nicht geladen werden: {error}</translation>
    </message>
    <message>
        <source>self-test not run: {error}</source>
        <translation>Selbsttest nicht ausgeführt: {error}</translation>
    </message>
    <message>
        <source>verdict for {key} was NOT logged: {error}</source>
        <translation>Prüfergebnis für {key} wurde NICHT protokolliert: {error}</translation>
    </message>
</context>
<context>
    <name>LabelEditor</name>
    <message>
        <source>Ellipse</source>
        <translation>Ellipse</translation>
    </message>
    <message>
        <source>Brush</source>
        <translation>Pinsel</translation>
    </message>
    <message>
        <source>Erase</source>
        <translation>Radieren</translation>
    </message>
    <message>
        <source>Pan</source>
        <translation>Verschieben</translation>
    </message>
    <message>
        <source>Drag on the image to draw an ellipse; drag its handles to rotate/resize</source>
        <translation>Auf dem Bild ziehen, um eine Ellipse zu zeichnen; an den Griffen ziehen zum Drehen/Skalieren</translation>
    </message>
    <message>
        <source>Drag to paint the defect</source>
        <translation>Ziehen, um den Fehler zu malen</translation>
    </message>
    <message>
        <source>Drag to erase (also trims ellipses)</source>
        <translation>Ziehen zum Radieren (beschneidet auch Ellipsen)</translation>
    </message>
    <message>
        <source>Drag to move the view (the wheel zooms in every tool)</source>
        <translation>Ziehen verschiebt die Ansicht (das Mausrad zoomt in jedem Werkzeug)</translation>
    </message>
    <message>
        <source>Brush size</source>
        <translation>Pinselgröße</translation>
    </message>
    <message>
        <source>Delete ellipse</source>
        <translation>Ellipse löschen</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Leeren</translation>
    </message>
</context>
<context>
    <name>LabelEditorDialog</name>
    <message>
        <source>Label the defect — inspection {id}</source>
        <translation>Fehler markieren — Prüfung {id}</translation>
    </message>
    <message>
        <source>Note (optional): what the defect is</source>
        <translation>Notiz (optional): was der Fehler ist</translation>
    </message>
    <message>
        <source>{n} px labelled</source>
        <translation>{n} px markiert</translation>
    </message>
    <message>
        <source>Nothing labelled yet: draw an ellipse or paint.</source>
        <translation>Noch nichts markiert: eine Ellipse zeichnen oder malen.</translation>
    </message>
    <message>
        <source>Nothing is labelled: draw the defect before saving.</source>
        <translation>Nichts markiert: vor dem Speichern den Fehler einzeichnen.</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Wird gespeichert…</translation>
    </message>
    <message>
        <source>Could not store the label of inspection {id}: {error}</source>
        <translation>Markierung von Prüfung {id} konnte nicht gespeichert werden: {error}</translation>
    </message>
    <message>
        <source>Inspection {id}: {disposition} labelled by {user} ({n} px)</source>
        <translation>Prüfung {id}: {disposition} markiert von {user} ({n} px)</translation>
    </message>
    <message>
        <source>Inspection {id} does not exist.</source>
        <translation>Prüfung {id} existiert nicht.</translation>
    </message>
    <message>
        <source>&apos;{disposition}&apos; does not apply to a {verdict} verdict (inspection {id}).</source>
        <translation>„{disposition}“ passt nicht zum Prüfergebnis {verdict} (Prüfung {id}).</translation>
    </message>
    <message>
        <source>Inspection {id}: cannot label, the image is not readable: {error}</source>
        <translation>Prüfung {id}: Markieren nicht möglich, das Bild ist nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>Could not read inspection {id}: {error}</source>
        <translation>Inspektion {id} konnte nicht gelesen werden: {error}</translation>
    </message>
</context>
<context>
    <name>LineMode</name>
    <message>
        <source>&amp;Line view (full screen)</source>
        <translation>Linien&amp;ansicht (Vollbild)</translation>
    </message>
    <message>
        <source>Kiosk left by {user}</source>
        <translation>Kiosk verlassen von {user}</translation>
    </message>
    <message>
        <source>Kiosk: leaving needs a QA login</source>
        <translation>Kiosk: Verlassen erfordert eine QS-Anmeldung</translation>
    </message>
    <message>
        <source>Kiosk runs {product}: a QA login (Esc) is needed to change the product</source>
        <translation>Kiosk läuft mit {product}: zum Produktwechsel ist eine QS-Anmeldung (Esc) nötig</translation>
    </message>
    <message>
        <source>Sound per NG / ERROR part on</source>
        <translation>Ton bei NG-/ERROR-Teilen an</translation>
    </message>
    <message>
        <source>Sound per NG / ERROR part off</source>
        <translation>Ton bei NG-/ERROR-Teilen aus</translation>
    </message>
</context>
<context>
    <name>LineToolBar</name>
    <message>
        <source>{n} parts · yield {pct}</source>
        <translation>{n} Teile · Ausbeute {pct}</translation>
    </message>
    <message>
        <source>Product and lot</source>
        <translation>Produkt und Los</translation>
    </message>
    <message>
        <source>No product</source>
        <translation>Kein Produkt</translation>
    </message>
    <message>
        <source>Product…</source>
        <translation>Produkt…</translation>
    </message>
    <message>
        <source>Choose the product: model, recipe, source and line I/O in one step</source>
        <translation>Produkt wählen: Modell, Rezept, Quelle und Linien-E/A in einem Schritt</translation>
    </message>
    <message>
        <source>scan or type lot id, Enter</source>
        <translation>Losnummer scannen, Enter</translation>
    </message>
    <message>
        <source>Start lot</source>
        <translation>Los starten</translation>
    </message>
    <message>
        <source>End lot…</source>
        <translation>Los beenden…</translation>
    </message>
    <message>
        <source>Report…</source>
        <translation>Bericht…</translation>
    </message>
    <message>
        <source>Lot or shift report: HTML page and PDF</source>
        <translation>Los- oder Schichtbericht: HTML-Seite und PDF</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>Product &lt;b&gt;{name}&lt;/b&gt;</source>
        <translation>Produkt &lt;b&gt;{name}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>{description}
model {model} · {sha}
recipe {recipe} v{version}
source {source}
{line_io}</source>
        <translation>{description}
Modell {model} · {sha}
Rezept {recipe} v{version}
Quelle {source}
{line_io}</translation>
    </message>
    <message>
        <source>Choose a product (File ▸ Choose product…)</source>
        <translation>Ein Produkt wählen (Datei ▸ Produkt wählen…)</translation>
    </message>
    <message>
        <source>started {time} by {user}</source>
        <translation>gestartet {time} von {user}</translation>
    </message>
    <message>
        <source>no lot open</source>
        <translation>kein Los offen</translation>
    </message>
    <message>
        <source>Shift {shift}: {counts}</source>
        <translation>Schicht {shift}: {counts}</translation>
    </message>
    <message>
        <source>{start}–{end} (schedule {schedule}, setting {key})</source>
        <translation>{start}–{end} (Schichtplan {schedule}, Einstellung {key})</translation>
    </message>
</context>
<context>
    <name>LineView</name>
    <message>
        <source>Space start/pause · L lot · P product · R report · M sound · Esc leave · F1 keys</source>
        <translation>Leertaste Start/Pause · L Los · P Produkt · R Bericht · M Ton · Esc verlassen · F1 Tasten</translation>
    </message>
    <message>
        <source>not inspected</source>
        <translation>nicht geprüft</translation>
    </message>
    <message>
        <source>treated as {verdict}</source>
        <translation>behandelt als {verdict}</translation>
    </message>
    <message>
        <source>{reason} (+{n} more)</source>
        <translation>{reason} (+{n} weitere)</translation>
    </message>
    <message>
        <source>no defect found</source>
        <translation>kein Fehler gefunden</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Gesamt</translation>
    </message>
    <message>
        <source>Review</source>
        <translation>REVIEW</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>Yield</source>
        <translation>Ausbeute</translation>
    </message>
    <message>
        <source>image could not be read</source>
        <translation>Bild nicht lesbar</translation>
    </message>
    <message>
        <source>no lot</source>
        <translation>kein Los</translation>
    </message>
    <message>
        <source>no product</source>
        <translation>kein Produkt</translation>
    </message>
    <message>
        <source>lot &lt;b&gt;{lot}&lt;/b&gt;</source>
        <translation>Los &lt;b&gt;{lot}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>no lot open</source>
        <translation>kein Los offen</translation>
    </message>
    <message>
        <source>RUNNING</source>
        <translation>LÄUFT</translation>
    </message>
    <message>
        <source>PAUSED</source>
        <translation>PAUSIERT</translation>
    </message>
    <message>
        <source>STOPPED</source>
        <translation>GESTOPPT</translation>
    </message>
    <message>
        <source>BLOCKED: self-test failed</source>
        <translation>GESPERRT: Selbsttest fehlgeschlagen</translation>
    </message>
    <message>
        <source>READY</source>
        <translation>BEREIT</translation>
    </message>
    <message>
        <source>Space starts inspection</source>
        <translation>Leertaste startet die Prüfung</translation>
    </message>
    <message>
        <source>P chooses the product</source>
        <translation>P wählt das Produkt</translation>
    </message>
    <message>
        <source>WAITING</source>
        <translation>WARTET</translation>
    </message>
    <message>
        <source>for the first part</source>
        <translation>auf das erste Teil</translation>
    </message>
    <message>
        <source>sound on</source>
        <translation>Ton an</translation>
    </message>
    <message>
        <source>sound off</source>
        <translation>Ton aus</translation>
    </message>
    <message>
        <source>no line I/O</source>
        <translation>keine Linien-E/A</translation>
    </message>
    <message>
        <source>line: {outputs}</source>
        <translation>Linie: {outputs}</translation>
    </message>
    <message>
        <source>station &lt;b&gt;{station}&lt;/b&gt;</source>
        <translation>Station &lt;b&gt;{station}&lt;/b&gt;</translation>
    </message>
</context>
<context>
    <name>LivePanel</name>
    <message>
        <source>Start</source>
        <translation>Start</translation>
    </message>
    <message>
        <source>Start / resume (F5)</source>
        <translation>Start / fortsetzen (F5)</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pause</translation>
    </message>
    <message>
        <source>Pause / resume (F6)</source>
        <translation>Pause / fortsetzen (F6)</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stopp</translation>
    </message>
    <message>
        <source>Stop (F7)</source>
        <translation>Stopp (F7)</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>Inspect one image, then wait (F8 / Space)</source>
        <translation>Ein Bild prüfen, dann warten (F8 / Leertaste)</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>Reset counters</source>
        <translation>Zähler zurücksetzen</translation>
    </message>
    <message>
        <source>Start counting a new shift or lot (recorded in the audit log)</source>
        <translation>Neu zählen für eine neue Schicht oder ein neues Los (im Audit-Protokoll vermerkt)</translation>
    </message>
    <message>
        <source>Counters</source>
        <translation>Zähler</translation>
    </message>
    <message>
        <source>Back to live</source>
        <translation>Zurück zu live</translation>
    </message>
    <message>
        <source>Recent verdicts</source>
        <translation>Letzte Prüfergebnisse</translation>
    </message>
    <message>
        <source>Cannot start: no model at {path}. Train or install one (resources/models/demo/model.onnx) or start with --model.</source>
        <translation>Start nicht möglich: kein Modell unter {path}. Ein Modell trainieren oder installieren (resources/models/demo/model.onnx) oder mit --model starten.</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Startet…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Stoppt…</translation>
    </message>
    <message>
        <source>Self-test passed: model {model} with recipe {recipe} v{version}</source>
        <translation>Selbsttest bestanden: Modell {model} mit Rezept {recipe} v{version}</translation>
    </message>
    <message>
        <source>Self-test failed: station will not pass parts — every part is logged as ERROR. {reason}</source>
        <translation>Selbsttest fehlgeschlagen: die Station gibt keine Teile frei — jedes Teil wird als ERROR protokolliert. {reason}</translation>
    </message>
    <message>
        <source>Model {name} will be used from the next Start</source>
        <translation>Modell {name} wird ab dem nächsten Start verwendet</translation>
    </message>
    <message>
        <source>Inspecting {source}</source>
        <translation>Prüfe {source}</translation>
    </message>
    <message>
        <source>, ERROR {n} not inspected</source>
        <translation>, ERROR {n} nicht geprüft</translation>
    </message>
    <message>
        <source>Run stopped: {n} parts (OK {ok}, NG {ng}, REVIEW {review}{errors}) in {seconds:.1f} s</source>
        <translation>Lauf gestoppt: {n} Teile (OK {ok}, NG {ng}, REVIEW {review}{errors}) in {seconds:.1f} s</translation>
    </message>
    <message>
        <source>Run finished: {n} parts (OK {ok}, NG {ng}, REVIEW {review}{errors}) in {seconds:.1f} s</source>
        <translation>Lauf beendet: {n} Teile (OK {ok}, NG {ng}, REVIEW {review}{errors}) in {seconds:.1f} s</translation>
    </message>
    <message>
        <source>{n} parts skipped: already logged with this content, model and recipe</source>
        <translation>{n} Teile übersprungen: schon mit diesem Inhalt, Modell und Rezept protokolliert</translation>
    </message>
    <message>
        <source>READY</source>
        <translation>BEREIT</translation>
    </message>
    <message>
        <source>No image was inspected</source>
        <translation>Kein Bild wurde geprüft</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>Pausiert</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Läuft</translation>
    </message>
    <message>
        <source>image could not be read: {error}</source>
        <translation>Bild nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>recent</source>
        <translation>zuletzt</translation>
    </message>
    <message>
        <source>Showing {name}</source>
        <translation>Angezeigt: {name}</translation>
    </message>
    <message>
        <source>since {time}</source>
        <translation>seit {time}</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Wrong user name or password.</source>
        <translation>Falscher Benutzername oder falsches Passwort.</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>PIN</source>
        <translation>PIN</translation>
    </message>
    <message>
        <source>QA login</source>
        <translation>QS-Anmeldung</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>Anmelden</translation>
    </message>
    <message>
        <source>Log in with a {roles} account: your name goes with every review, recipe change, promotion and lot action.</source>
        <translation>Mit einem Konto der Rolle {roles} anmelden: Ihr Name steht bei jeder Bewertung, Rezeptänderung, Freigabe und Losaktion.</translation>
    </message>
    <message>
        <source>Log in with your account: your name goes with every review, recipe change, promotion and lot action.</source>
        <translation>Mit Ihrem Konto anmelden: Ihr Name steht bei jeder Bewertung, Rezeptänderung, Freigabe und Losaktion.</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Benutzername</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>user name</source>
        <translation>Benutzername</translation>
    </message>
    <message>
        <source>password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>QA mode unlocks recipe changes and model promotion.</source>
        <translation>Der QS-Modus erlaubt Rezeptänderungen und Modellfreigaben.</translation>
    </message>
    <message>
        <source>your name (required, for the audit log)</source>
        <translation>Ihr Name (Pflicht, für das Audit-Protokoll)</translation>
    </message>
    <message>
        <source>No user accounts yet: QA logs in with the shared PIN until the first admin account exists. Create it in a terminal with
    {command}
then log in with it and add everyone&apos;s account under Role ▸ Users…</source>
        <translation>Noch keine Benutzerkonten: QS meldet sich mit der gemeinsamen PIN an, bis das erste Admin-Konto existiert. Es im Terminal anlegen mit
    {command}
dann damit anmelden und unter Rolle ▸ Benutzer… die Konten aller anlegen</translation>
    </message>
    <message>
        <source>no QA PIN is set on this computer</source>
        <translation>auf diesem Rechner ist keine QS-PIN gesetzt</translation>
    </message>
    <message>
        <source>QA is locked: {why}. Set a PIN (at least {n} characters) in a terminal with
    {command}</source>
        <translation>QS ist gesperrt: {why}. Eine PIN (mindestens {n} Zeichen) im Terminal setzen mit
    {command}</translation>
    </message>
    <message>
        <source>Too many wrong PINs in a row: wait {wait} before the next try.</source>
        <translation>Zu viele falsche PINs in Folge: {wait} bis zum nächsten Versuch warten.</translation>
    </message>
    <message>
        <source>Enter your name: it goes into the audit log with every QA action.</source>
        <translation>Bitte Namen eingeben: er steht im Audit-Protokoll bei jeder QS-Aktion.</translation>
    </message>
    <message>
        <source>cannot use the secrets file {path}: {error}</source>
        <translation>Geheimnisdatei {path} nicht nutzbar: {error}</translation>
    </message>
    <message>
        <source>QA is locked: no PIN is set.</source>
        <translation>QS ist gesperrt: keine PIN gesetzt.</translation>
    </message>
    <message>
        <source>Wrong PIN.</source>
        <translation>Falsche PIN.</translation>
    </message>
    <message>
        <source>Enter your user name.</source>
        <translation>Bitte Benutzernamen eingeben.</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <source>{user} is {role}: this login needs a {needed} account or higher.</source>
        <translation>{user} ist {role}: diese Anmeldung erfordert ein Konto der Rolle {needed} oder höher.</translation>
    </message>
    <message>
        <source>Too many wrong passwords for this user: wait {wait} before the next try.</source>
        <translation>Zu viele falsche Passwörter für diesen Benutzer: {wait} bis zum nächsten Versuch warten.</translation>
    </message>
    <message>
        <source>Too many in a row: this user is locked for {wait}.</source>
        <translation>Zu viele in Folge: dieser Benutzer ist für {wait} gesperrt.</translation>
    </message>
    <message>
        <source>The login could not be checked: {error}</source>
        <translation>Die Anmeldung konnte nicht geprüft werden: {error}</translation>
    </message>
</context>
<context>
    <name>LotIdDialog</name>
    <message>
        <source>Start lot</source>
        <translation>Los starten</translation>
    </message>
    <message>
        <source>scan or type the lot id, Enter</source>
        <translation>Losnummer scannen oder eingeben, Enter</translation>
    </message>
    <message>
        <source>Scan the lot&apos;s barcode or type its id, then Enter.</source>
        <translation>Barcode des Loses scannen oder Losnummer eingeben, dann Enter.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Start the run / resume a paused one</source>
        <translation>Lauf starten / pausierten fortsetzen</translation>
    </message>
    <message>
        <source>Pause / resume</source>
        <translation>Pause / fortsetzen</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stopp</translation>
    </message>
    <message>
        <source>F8 or Space</source>
        <translation>F8 oder Leertaste</translation>
    </message>
    <message>
        <source>Single step: inspect one image, then wait</source>
        <translation>Einzelschritt: ein Bild prüfen, dann warten</translation>
    </message>
    <message>
        <source>Left / Right</source>
        <translation>Links / Rechts</translation>
    </message>
    <message>
        <source>Walk the recent verdicts (strip focused)</source>
        <translation>Durch die letzten Prüfergebnisse blättern (Leiste fokussiert)</translation>
    </message>
    <message>
        <source>Ctrl+1 / Ctrl+2 / Ctrl+3 / Ctrl+4</source>
        <translation>Strg+1 / Strg+2 / Strg+3 / Strg+4</translation>
    </message>
    <message>
        <source>Live / History / Rules / Trainer tab</source>
        <translation>Reiter Live / Verlauf / Regeln / Trainer</translation>
    </message>
    <message>
        <source>Ctrl+M</source>
        <translation>Strg+M</translation>
    </message>
    <message>
        <source>Show / hide the message area</source>
        <translation>Meldungsbereich zeigen / verbergen</translation>
    </message>
    <message>
        <source>Ctrl+P</source>
        <translation>Strg+P</translation>
    </message>
    <message>
        <source>Choose the product (model, recipe, source and line I/O in one step)</source>
        <translation>Produkt wählen (Modell, Rezept, Quelle und Linien-E/A in einem Schritt)</translation>
    </message>
    <message>
        <source>Line view, full screen (Esc leaves; there: Space start/pause, L lot, P product, R report, M sound)</source>
        <translation>Linienansicht, Vollbild (Esc verlässt sie; dort: Leertaste Start/Pause, L Los, P Produkt, R Bericht, M Ton)</translation>
    </message>
    <message>
        <source>Ctrl+Q</source>
        <translation>Strg+Q</translation>
    </message>
    <message>
        <source>Quit (asks first while a run is active)</source>
        <translation>Beenden (fragt während eines Laufs zuerst nach)</translation>
    </message>
    <message>
        <source>History, selected part: confirm NG / false reject / missed defect / confirm OK</source>
        <translation>Verlauf, gewähltes Teil: NG bestätigen / Pseudoausschuss / Schlupf / OK bestätigen</translation>
    </message>
    <message>
        <source>History, selected part: label the defect (draw its mask)</source>
        <translation>Verlauf, gewähltes Teil: Fehler markieren (Maske zeichnen)</translation>
    </message>
    <message>
        <source>History: next / previous row (like Down / Up)</source>
        <translation>Verlauf: nächste / vorige Zeile (wie Ab / Auf)</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Verlauf</translation>
    </message>
    <message>
        <source>Rules</source>
        <translation>Regeln</translation>
    </message>
    <message>
        <source>Trainer</source>
        <translation>Trainer</translation>
    </message>
    <message>
        <source>Defect Inspector — {station}</source>
        <translation>Defect Inspector — {station}</translation>
    </message>
    <message>
        <source>Messages</source>
        <translation>Meldungen</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>Live</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>nicht installiert</translation>
    </message>
    <message>
        <source>The {tab} tab is not installed ({module})</source>
        <translation>Der Reiter {tab} ist nicht installiert ({module})</translation>
    </message>
    <message>
        <source>The {tab} tab could not be loaded: {error}</source>
        <translation>Der Reiter {tab} konnte nicht geladen werden: {error}</translation>
    </message>
    <message>
        <source>The {tab} tab is not available: {why}</source>
        <translation>Der Reiter {tab} ist nicht verfügbar: {why}</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>Choose &amp;product…</source>
        <translation>&amp;Produkt wählen…</translation>
    </message>
    <message>
        <source>Lot / shift &amp;report…</source>
        <translation>Los-/Schichtbe&amp;richt…</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>&amp;Einstellungen…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;Prüflauf</translation>
    </message>
    <message>
        <source>&amp;Start / resume</source>
        <translation>&amp;Start / fortsetzen</translation>
    </message>
    <message>
        <source>&amp;Pause / resume</source>
        <translation>&amp;Pause / fortsetzen</translation>
    </message>
    <message>
        <source>S&amp;top</source>
        <translation>S&amp;toppen</translation>
    </message>
    <message>
        <source>Single s&amp;tep</source>
        <translation>&amp;Einzelschritt</translation>
    </message>
    <message>
        <source>&amp;Reset counters</source>
        <translation>Zähler &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>R&amp;ole</source>
        <translation>R&amp;olle</translation>
    </message>
    <message>
        <source>&amp;Log in…</source>
        <translation>&amp;Anmelden…</translation>
    </message>
    <message>
        <source>Log &amp;out (operator mode)</source>
        <translation>Ab&amp;melden (Bedienermodus)</translation>
    </message>
    <message>
        <source>&amp;Change PIN…</source>
        <translation>PIN ä&amp;ndern…</translation>
    </message>
    <message>
        <source>&amp;Users…</source>
        <translation>&amp;Benutzer…</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Tastenkürzel</translation>
    </message>
    <message>
        <source>&amp;Change my password…</source>
        <translation>Mein Passwort ä&amp;ndern…</translation>
    </message>
    <message>
        <source>Add users, reset passwords, roles</source>
        <translation>Benutzer hinzufügen, Passwörter zurücksetzen, Rollen</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>Tastenkürzel</translation>
    </message>
    <message>
        <source>Key</source>
        <translation>Taste</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>Aktion</translation>
    </message>
    <message>
        <source>Quit during a run</source>
        <translation>Beenden während eines Laufs</translation>
    </message>
    <message>
        <source>An inspection run is paused. Stop it and quit?</source>
        <translation>Ein Prüflauf ist pausiert. Stoppen und beenden?</translation>
    </message>
    <message>
        <source>An inspection run is running. Stop it and quit?</source>
        <translation>Ein Prüflauf läuft. Stoppen und beenden?</translation>
    </message>
    <message>
        <source>The part in flight is finished and logged; parts not yet inspected are not. Cancel keeps the station running.</source>
        <translation>Das Teil in Bearbeitung wird fertig geprüft und protokolliert; noch nicht geprüfte Teile nicht. Abbrechen lässt die Station weiterlaufen.</translation>
    </message>
    <message>
        <source>Stop and quit</source>
        <translation>Stoppen und beenden</translation>
    </message>
</context>
<context>
    <name>MessageArea</name>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
    <message>
        <source>No messages</source>
        <translation>Keine Meldungen</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Leeren</translation>
    </message>
    <message numerus="yes">
        <source>%n message(s), {problems} warnings/errors</source>
        <translation>
            <numerusform>%n Meldung, {problems} Warnungen/Fehler</numerusform>
            <numerusform>%n Meldungen, {problems} Warnungen/Fehler</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n message(s)</source>
        <translation>
            <numerusform>%n Meldung</numerusform>
            <numerusform>%n Meldungen</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MetricPlot</name>
    <message>
        <source>Precision</source>
        <translation>Präzision</translation>
    </message>
    <message>
        <source>Recall</source>
        <translation>Trefferquote</translation>
    </message>
    <message>
        <source>False-reject rate</source>
        <translation>Pseudoausschussrate</translation>
    </message>
    <message>
        <source>Escape rate</source>
        <translation>Schlupfrate</translation>
    </message>
    <message>
        <source>Against the pixel threshold</source>
        <translation>In Abhängigkeit von der Pixelschwelle</translation>
    </message>
    <message>
        <source>Against the NG level</source>
        <translation>In Abhängigkeit von der NG-Schwelle</translation>
    </message>
    <message>
        <source>rate</source>
        <translation>Rate</translation>
    </message>
</context>
<context>
    <name>NewProductDialog</name>
    <message>
        <source>Save current setup as a product</source>
        <translation>Aktuelle Einrichtung als Produkt speichern</translation>
    </message>
    <message>
        <source>e.g. &quot;Housing A, camera 2&quot;</source>
        <translation>z. B. „Gehäuse A, Kamera 2“</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Beschreibung</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Recipe</source>
        <translation>Rezept</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>expect {w}x{h} colour images (as the last part)</source>
        <translation>{w}x{h}-Farbbilder erwarten (wie das letzte Teil)</translation>
    </message>
    <message>
        <source>expect {w}x{h} gray images (as the last part)</source>
        <translation>{w}x{h}-Graubilder erwarten (wie das letzte Teil)</translation>
    </message>
    <message>
        <source>expect the size of the last part (no part inspected yet)</source>
        <translation>Größe des letzten Teils erwarten (noch kein Teil geprüft)</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Bilder</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>off, or HOST[:PORT][/PREFIX]</source>
        <translation>aus, oder HOST[:PORT][/PRÄFIX]</translation>
    </message>
    <message>
        <source>the line triggers each part (OPC UA / Modbus)</source>
        <translation>die Linie triggert jedes Teil (OPC UA / Modbus)</translation>
    </message>
    <message>
        <source>OPC UA port</source>
        <translation>OPC-UA-Port</translation>
    </message>
    <message>
        <source>Modbus TCP port</source>
        <translation>Modbus-TCP-Port</translation>
    </message>
    <message>
        <source>MQTT broker</source>
        <translation>MQTT-Broker</translation>
    </message>
    <message>
        <source>Triggered</source>
        <translation>Getriggert</translation>
    </message>
    <message>
        <source>Line deadline</source>
        <translation>Linien-Frist</translation>
    </message>
    <message>
        <source>replace a product with this name (new revision)</source>
        <translation>ein Produkt mit diesem Namen ersetzen (neue Revision)</translation>
    </message>
    <message>
        <source>a triggered product needs a trigger input: an OPC UA or a Modbus port</source>
        <translation>ein getriggertes Produkt braucht einen Trigger-Eingang: einen OPC-UA- oder Modbus-Port</translation>
    </message>
    <message>
        <source>Product {name} saved (revision {revision})</source>
        <translation>Produkt {name} gespeichert (Revision {revision})</translation>
    </message>
</context>
<context>
    <name>PinStore</name>
    <message>
        <source>cannot use the secrets file {path}: {error}</source>
        <translation>Geheimnisdatei {path} nicht nutzbar: {error}</translation>
    </message>
    <message>
        <source>Too many wrong PINs: wait {wait}.</source>
        <translation>Zu viele falsche PINs: {wait} warten.</translation>
    </message>
    <message>
        <source>The current PIN is wrong.</source>
        <translation>Die aktuelle PIN ist falsch.</translation>
    </message>
    <message>
        <source>Cannot use the secrets file: {error}</source>
        <translation>Die Geheimnisdatei ist nicht nutzbar: {error}</translation>
    </message>
</context>
<context>
    <name>ProductController</name>
    <message>
        <source>Shift schedule in the settings ({key}): {error}; using {default}</source>
        <translation>Schichtplan in den Einstellungen ({key}): {error}; verwende {default}</translation>
    </message>
    <message>
        <source>The open lot could not be read: {error}</source>
        <translation>Das offene Los ist nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>Product {name} could not be restored: {error}</source>
        <translation>Produkt {name} konnte nicht wiederhergestellt werden: {error}</translation>
    </message>
    <message>
        <source>Product {name}: its line I/O did not start: {error}</source>
        <translation>Produkt {name}: seine Linien-E/A startete nicht: {error}</translation>
    </message>
    <message>
        <source>Stop the run (F7) before switching products</source>
        <translation>Vor dem Produktwechsel den Lauf stoppen (F7)</translation>
    </message>
    <message>
        <source>Lot {lot} is open for this product: end it before switching products</source>
        <translation>Los {lot} ist für dieses Produkt offen: vor dem Produktwechsel beenden</translation>
    </message>
    <message>
        <source>A product is being loaded</source>
        <translation>Ein Produkt wird geladen</translation>
    </message>
    <message>
        <source>Product {name} not loaded: a run was started; stop it and choose again</source>
        <translation>Produkt {name} nicht geladen: ein Lauf wurde gestartet; ihn stoppen und erneut wählen</translation>
    </message>
    <message>
        <source>Product {name} cannot be used: {error}</source>
        <translation>Produkt {name} nicht verwendbar: {error}</translation>
    </message>
    <message>
        <source>Product {name}: source {source}: {error}</source>
        <translation>Produkt {name}: Quelle {source}: {error}</translation>
    </message>
    <message>
        <source>normal defect rate not known yet</source>
        <translation>normale Fehlerrate noch unbekannt</translation>
    </message>
    <message>
        <source>normal defect rate {pct:.1f} %</source>
        <translation>normale Fehlerrate {pct:.1f} %</translation>
    </message>
    <message>
        <source>Product {name}: model {model} · {sha}, recipe {recipe} v{version}, {source}, {line_io}; {normal}</source>
        <translation>Produkt {name}: Modell {model} · {sha}, Rezept {recipe} v{version}, {source}, {line_io}; {normal}</translation>
    </message>
    <message>
        <source>Lot {lot} is open: end it before starting {code}</source>
        <translation>Los {lot} ist offen: vor dem Start von {code} beenden</translation>
    </message>
    <message>
        <source>Lot {lot} not started: {error}</source>
        <translation>Los {lot} nicht gestartet: {error}</translation>
    </message>
    <message>
        <source>No lot is open</source>
        <translation>Kein Los ist offen</translation>
    </message>
    <message>
        <source>Stop the run (F7) before ending lot {lot}: parts in flight would straddle two lots</source>
        <translation>Den Lauf stoppen (F7), bevor Los {lot} beendet wird: Teile in Bearbeitung würden auf zwei Lose fallen</translation>
    </message>
    <message>
        <source>Lot {lot} ended: {counts}</source>
        <translation>Los {lot} beendet: {counts}</translation>
    </message>
    <message>
        <source>Lot {lot} not ended: {error}</source>
        <translation>Los {lot} nicht beendet: {error}</translation>
    </message>
    <message>
        <source>Lot {lot} started by {user} for {product}</source>
        <translation>Los {lot} gestartet von {user} für {product}</translation>
    </message>
    <message>
        <source>Lot {lot} started by {user}</source>
        <translation>Los {lot} gestartet von {user}</translation>
    </message>
    <message>
        <source>Shift {shift} began ({time})</source>
        <translation>Schicht {shift} hat begonnen ({time})</translation>
    </message>
    <message>
        <source>Product {name}: {warning}</source>
        <translation>Produkt {name}: {warning}</translation>
    </message>
    <message>
        <source>Product {name} REFUSED for these images: {why} — the run is stopped; the parts it saw are logged as ERROR (never OK).</source>
        <translation>Produkt {name} für diese Bilder ABGELEHNT: {why} — der Lauf ist gestoppt; die gesehenen Teile sind als ERROR protokolliert (nie OK).</translation>
    </message>
</context>
<context>
    <name>ProductPicker</name>
    <message>
        <source>learnt from the log</source>
        <translation>aus dem Protokoll gelernt</translation>
    </message>
    <message>
        <source>{revision} · {time} by {user}</source>
        <translation>{revision} · {time} von {user}</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Recipe</source>
        <translation>Rezept</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Bilder</translation>
    </message>
    <message>
        <source>Line I/O</source>
        <translation>Linien-E/A</translation>
    </message>
    <message>
        <source>Normal defect rate</source>
        <translation>Normale Fehlerrate</translation>
    </message>
    <message>
        <source>Revision</source>
        <translation>Revision</translation>
    </message>
    <message>
        <source>Choose product</source>
        <translation>Produkt wählen</translation>
    </message>
    <message>
        <source>type to find a product</source>
        <translation>tippen, um ein Produkt zu finden</translation>
    </message>
    <message>
        <source>Choose</source>
        <translation>Wählen</translation>
    </message>
    <message>
        <source>Save current as product…</source>
        <translation>Aktuelles als Produkt speichern…</translation>
    </message>
    <message>
        <source>Import…</source>
        <translation>Importieren…</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>Exportieren…</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Products could not be read: {error}</source>
        <translation>Produkte nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>&lt;h2&gt;No products yet&lt;/h2&gt;&lt;p&gt;An engineer: set up model, recipe and source on the Live tab, then &lt;b&gt;Save current as product…&lt;/b&gt;, or import a product file.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;Noch keine Produkte&lt;/h2&gt;&lt;p&gt;Ein Ingenieur richtet Modell, Rezept und Quelle im Live-Reiter ein und wählt dann &lt;b&gt;Aktuelles als Produkt speichern…&lt;/b&gt; oder importiert eine Produktdatei.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Setting up products {needs}</source>
        <translation>Produkte einrichten {needs}</translation>
    </message>
    <message>
        <source>Export product</source>
        <translation>Produkt exportieren</translation>
    </message>
    <message>
        <source>Product (*.json)</source>
        <translation>Produkt (*.json)</translation>
    </message>
    <message>
        <source>Product {name} exported to {path}</source>
        <translation>Produkt {name} exportiert nach {path}</translation>
    </message>
    <message>
        <source>Product {name} not exported: {error}</source>
        <translation>Produkt {name} nicht exportiert: {error}</translation>
    </message>
    <message>
        <source>Import product</source>
        <translation>Produkt importieren</translation>
    </message>
    <message>
        <source>Product {name} imported</source>
        <translation>Produkt {name} importiert</translation>
    </message>
    <message>
        <source>Product {name} imported (replaced the existing one)</source>
        <translation>Produkt {name} importiert (bestehendes ersetzt)</translation>
    </message>
    <message>
        <source>Product not imported: {error}</source>
        <translation>Produkt nicht importiert: {error}</translation>
    </message>
</context>
<context>
    <name>PromotionConfirmDialog</name>
    <message>
        <source>Data</source>
        <translation>Daten</translation>
    </message>
    <message>
        <source>Metric</source>
        <translation>Kennzahl</translation>
    </message>
    <message>
        <source>Candidate</source>
        <translation>Kandidat</translation>
    </message>
    <message>
        <source>Production</source>
        <translation>Produktion</translation>
    </message>
    <message>
        <source>Promote to production?</source>
        <translation>Für die Produktion freigeben?</translation>
    </message>
    <message>
        <source>Promote by OVERRIDE?</source>
        <translation>Per OVERRIDE freigeben?</translation>
    </message>
    <message>
        <source>Promote &lt;b&gt;{candidate}&lt;/b&gt; to production, replacing &lt;b&gt;{production}&lt;/b&gt;?</source>
        <translation>&lt;b&gt;{candidate}&lt;/b&gt; für die Produktion freigeben und &lt;b&gt;{production}&lt;/b&gt; ersetzen?</translation>
    </message>
    <message>
        <source>no production model</source>
        <translation>kein Produktionsmodell</translation>
    </message>
    <message>
        <source>The candidate FAILED the promotion gate. It will carry an OVERRIDE mark, shown on the station, until a model that passes the gate replaces it.
Override reason: {reason}</source>
        <translation>Der Kandidat hat das Freigabe-Gate NICHT BESTANDEN. Er trägt eine OVERRIDE-Markierung, die an der Station angezeigt wird, bis ein Modell, das das Gate besteht, ihn ersetzt.
Override-Grund: {reason}</translation>
    </message>
    <message>
        <source>type {word} to confirm</source>
        <translation>zur Bestätigung {word} eingeben</translation>
    </message>
    <message>
        <source>Type {word} to promote it anyway:</source>
        <translation>{word} eingeben, um es trotzdem freizugeben:</translation>
    </message>
    <message>
        <source>Promote by override</source>
        <translation>Per Override freigeben</translation>
    </message>
    <message>
        <source>Promote</source>
        <translation>Freigeben</translation>
    </message>
</context>
<context>
    <name>RecentStrip</name>
    <message>
        <source>Recent verdicts: click or use the arrow keys to look at one again</source>
        <translation>Letzte Prüfergebnisse: anklicken oder mit den Pfeiltasten erneut ansehen</translation>
    </message>
    <message>
        <source>no defect</source>
        <translation>kein Fehler</translation>
    </message>
</context>
<context>
    <name>RecipeEditor</name>
    <message>
        <source>Pixel threshold</source>
        <translation>Pixelschwelle</translation>
    </message>
    <message>
        <source>Minimum region area</source>
        <translation>Min. Regionsfläche</translation>
    </message>
    <message>
        <source>Maximum region count</source>
        <translation>Max. Regionsanzahl</translation>
    </message>
    <message>
        <source> regions</source>
        <translation> Regionen</translation>
    </message>
    <message>
        <source>Maximum region area</source>
        <translation>Max. Regionsfläche</translation>
    </message>
    <message>
        <source>Maximum defect area ratio</source>
        <translation>Max. Fehlerflächenanteil</translation>
    </message>
    <message>
        <source> ratio</source>
        <translation> Anteil</translation>
    </message>
    <message>
        <source>NG level</source>
        <translation>NG-Schwelle</translation>
    </message>
    <message>
        <source>REVIEW level</source>
        <translation>REVIEW-Schwelle</translation>
    </message>
    <message>
        <source>Enable this rule (unchecked = the rule never fires)</source>
        <translation>Regel aktivieren (nicht angehakt = die Regel greift nie)</translation>
    </message>
    <message>
        <source>Inspected zones (ROI)</source>
        <translation>Prüfzonen (ROI)</translation>
    </message>
    <message>
        <source>Exclusion zones</source>
        <translation>Ausschlusszonen</translation>
    </message>
    <message>
        <source>max probability</source>
        <translation>maximale Wahrscheinlichkeit</translation>
    </message>
    <message>
        <source>mean probability</source>
        <translation>mittlere Wahrscheinlichkeit</translation>
    </message>
    <message>
        <source>Defect level of a region</source>
        <translation>Fehlerstufe einer Region</translation>
    </message>
    <message>
        <source>ERROR parts are treated as</source>
        <translation>ERROR-Teile werden behandelt als</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>whole image</source>
        <translation>ganzes Bild</translation>
    </message>
    <message>
        <source>polygon of {n} points</source>
        <translation>Polygon mit {n} Punkten</translation>
    </message>
    <message>
        <source>same settings</source>
        <translation>gleiche Einstellungen</translation>
    </message>
    <message>
        <source>+{n} more</source>
        <translation>+{n} weitere</translation>
    </message>
</context>
<context>
    <name>RecipeFields</name>
    <message>
        <source>Pixel threshold on the defect probability (0..1).</source>
        <translation>Pixelschwelle für die Fehlerwahrscheinlichkeit (0..1).</translation>
    </message>
    <message>
        <source>Regions smaller than this many pixels are ignored (px).</source>
        <translation>Regionen kleiner als diese Pixelzahl werden ignoriert (px).</translation>
    </message>
    <message>
        <source>Regions count only if their centroid lies in one of these zones; empty = whole image.</source>
        <translation>Regionen zählen nur, wenn ihr Schwerpunkt in einer dieser Zonen liegt; leer = ganzes Bild.</translation>
    </message>
    <message>
        <source>Regions whose centroid lies in one of these zones are ignored.</source>
        <translation>Regionen, deren Schwerpunkt in einer dieser Zonen liegt, werden ignoriert.</translation>
    </message>
    <message>
        <source>NG when more than this many regions remain (count); None disables.</source>
        <translation>NG, wenn mehr Regionen als dieser Wert übrig bleiben (Anzahl); None schaltet die Regel ab.</translation>
    </message>
    <message>
        <source>NG when any region is larger than this (px); None disables.</source>
        <translation>NG, wenn eine Region größer ist als dieser Wert (px); None schaltet die Regel ab.</translation>
    </message>
    <message>
        <source>NG when total defect area / image area exceeds this (ratio).</source>
        <translation>NG, wenn Fehlerfläche / Bildfläche diesen Wert übersteigt (Anteil).</translation>
    </message>
    <message>
        <source>Defect level of a region: its max or mean probability.</source>
        <translation>Fehlerstufe einer Region: ihre maximale oder mittlere Wahrscheinlichkeit.</translation>
    </message>
    <message>
        <source>NG when a region&apos;s defect level is at least this (0..1).</source>
        <translation>NG, wenn die Fehlerstufe einer Region mindestens diesen Wert erreicht (0..1).</translation>
    </message>
    <message>
        <source>How the line treats a part that could not be fully inspected (ERROR verdict): reject it (NG) or hold it for a person (REVIEW). It is never OK.</source>
        <translation>Wie die Linie ein Teil behandelt, das nicht vollständig geprüft werden konnte (Prüfergebnis ERROR): ausschleusen (NG) oder für eine Person zurückhalten (REVIEW). Es ist nie OK.</translation>
    </message>
    <message>
        <source>REVIEW when a region&apos;s level is in [level_review, level_ng) and no rule fired NG.</source>
        <translation>REVIEW, wenn die Stufe einer Region in [level_review, level_ng) liegt und keine Regel NG ausgelöst hat.</translation>
    </message>
</context>
<context>
    <name>Refusal</name>
    <message>
        <source>Saving a label</source>
        <translation>Markierung speichern</translation>
    </message>
    <message>
        <source>Starting a lot</source>
        <translation>Los starten</translation>
    </message>
    <message>
        <source>Ending a lot</source>
        <translation>Los beenden</translation>
    </message>
    <message>
        <source>Importing a product</source>
        <translation>Produkt importieren</translation>
    </message>
    <message>
        <source>Saving a product</source>
        <translation>Produkt speichern</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Export</translation>
    </message>
    <message>
        <source>Promotion</source>
        <translation>Freigabe</translation>
    </message>
    <message>
        <source>Rebuilding the TensorRT engine</source>
        <translation>TensorRT-Engine neu bauen</translation>
    </message>
    <message>
        <source>Rollback</source>
        <translation>Zurückrollen</translation>
    </message>
    <message>
        <source>Labelling a defect</source>
        <translation>Fehler markieren</translation>
    </message>
    <message>
        <source>Reviews</source>
        <translation>Bewertungen</translation>
    </message>
    <message>
        <source>User administration</source>
        <translation>Benutzerverwaltung</translation>
    </message>
    <message>
        <source>Changing the recipe</source>
        <translation>Rezept ändern</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Übernehmen</translation>
    </message>
    <message>
        <source>Restore</source>
        <translation>Wiederherstellen</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>Training</translation>
    </message>
    <message>
        <source>Adding a user</source>
        <translation>Benutzer hinzufügen</translation>
    </message>
    <message>
        <source>User added</source>
        <translation>Benutzer hinzugefügt</translation>
    </message>
    <message>
        <source>Resetting a password</source>
        <translation>Passwort zurücksetzen</translation>
    </message>
    <message>
        <source>Password reset</source>
        <translation>Passwort zurückgesetzt</translation>
    </message>
    <message>
        <source>User enabled</source>
        <translation>Benutzer entsperrt</translation>
    </message>
    <message>
        <source>User disabled</source>
        <translation>Benutzer gesperrt</translation>
    </message>
    <message>
        <source>Role changed</source>
        <translation>Rolle geändert</translation>
    </message>
</context>
<context>
    <name>ReleasePanel</name>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Last made production</source>
        <translation>Zuletzt in Produktion</translation>
    </message>
    <message>
        <source>By</source>
        <translation>Von</translation>
    </message>
    <message>
        <source>Gate</source>
        <translation>Gate</translation>
    </message>
    <message>
        <source>For the production model; a child process. Without TensorRT the station keeps ONNX Runtime.</source>
        <translation>Für das Produktionsmodell; ein Kindprozess. Ohne TensorRT bleibt die Station bei ONNX Runtime.</translation>
    </message>
    <message>
        <source>No run selected</source>
        <translation>Kein Lauf ausgewählt</translation>
    </message>
    <message>
        <source>1. Export ONNX</source>
        <translation>1. ONNX exportieren</translation>
    </message>
    <message>
        <source>Also score on the reviewed inspections</source>
        <translation>Auch auf den bewerteten Prüfungen messen</translation>
    </message>
    <message>
        <source>Gate tolerances</source>
        <translation>Gate-Toleranzen</translation>
    </message>
    <message>
        <source> pp</source>
        <translation> Pp</translation>
    </message>
    <message>
        <source>TNR may drop by</source>
        <translation>TNR darf sinken um</translation>
    </message>
    <message>
        <source>Dice defective may drop by</source>
        <translation>Dice (fehlerhaft) darf sinken um</translation>
    </message>
    <message>
        <source>TPR must not drop; escapes must not rise.</source>
        <translation>TPR darf nicht sinken; Schlupf darf nicht steigen.</translation>
    </message>
    <message>
        <source>2. Evaluate + gate</source>
        <translation>2. Bewerten + Freigabe-Gate</translation>
    </message>
    <message>
        <source>Override the failed gate (QA)</source>
        <translation>Nicht bestandenes Gate übersteuern (QS)</translation>
    </message>
    <message>
        <source>Reason for the override (required, audited)</source>
        <translation>Grund für das Override (Pflicht, protokolliert)</translation>
    </message>
    <message>
        <source>3. Promote to production (QA)</source>
        <translation>3. Für die Produktion freigeben (QS)</translation>
    </message>
    <message>
        <source>Rebuild TensorRT engine</source>
        <translation>TensorRT-Engine neu bauen</translation>
    </message>
    <message>
        <source>Roll back to the previous model (QA)</source>
        <translation>Auf das vorige Modell zurückrollen (QS)</translation>
    </message>
    <message>
        <source>Roll back to the selected model (QA)</source>
        <translation>Auf das gewählte Modell zurückrollen (QS)</translation>
    </message>
    <message>
        <source>Production history</source>
        <translation>Produktionsverlauf</translation>
    </message>
    <message>
        <source>Export {needs}</source>
        <translation>Export {needs}</translation>
    </message>
    <message>
        <source>Promotion {needs}</source>
        <translation>Freigabe {needs}</translation>
    </message>
    <message>
        <source>Rollback {needs}</source>
        <translation>Zurückrollen {needs}</translation>
    </message>
    <message>
        <source>Rebuilding the engine {needs}</source>
        <translation>Engine neu bauen {needs}</translation>
    </message>
    <message>
        <source>Run {run}: {status}, best val Dice {dice}</source>
        <translation>Lauf {run}: {status}, bester Val-Dice {dice}</translation>
    </message>
    <message>
        <source>exported</source>
        <translation>exportiert</translation>
    </message>
    <message>
        <source>Exporting {run} to ONNX…</source>
        <translation>{run} wird nach ONNX exportiert…</translation>
    </message>
    <message>
        <source>Scoring the candidate and the production model…</source>
        <translation>Kandidat und Produktionsmodell werden gemessen…</translation>
    </message>
    <message>
        <source>Scored.</source>
        <translation>Gemessen.</translation>
    </message>
    <message>
        <source>Scored (no production model to compare).</source>
        <translation>Gemessen (kein Produktionsmodell zum Vergleich).</translation>
    </message>
    <message>
        <source>Evaluation failed: {error}</source>
        <translation>Bewertung fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Promotion gate: {error}</source>
        <translation>Freigabe-Gate: {error}</translation>
    </message>
    <message>
        <source>Evaluate the candidate against production first.</source>
        <translation>Zuerst den Kandidaten gegen die Produktion bewerten.</translation>
    </message>
    <message>
        <source>Checking the production model…</source>
        <translation>Das Produktionsmodell wird geprüft…</translation>
    </message>
    <message>
        <source>Promoting {name}…</source>
        <translation>{name} wird für die Produktion freigegeben…</translation>
    </message>
    <message>
        <source>The production model changed since the evaluation; evaluate again.</source>
        <translation>Das Produktionsmodell hat sich seit der Bewertung geändert; bitte erneut bewerten.</translation>
    </message>
    <message>
        <source>The candidate failed the gate: only a QA override with a reason promotes it.</source>
        <translation>Der Kandidat hat das Gate nicht bestanden: nur ein QS-Override mit Grund gibt ihn frei.</translation>
    </message>
    <message>
        <source>Promotion cancelled: production is unchanged.</source>
        <translation>Freigabe abgebrochen: die Produktion ist unverändert.</translation>
    </message>
    <message>
        <source>Promotion failed: {error}</source>
        <translation>Freigabe fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>OVERRIDE by {user}: {reason}</source>
        <translation>OVERRIDE durch {user}: {reason}</translation>
    </message>
    <message>
        <source>gate passed</source>
        <translation>Gate bestanden</translation>
    </message>
    <message>
        <source>Model {name} · {sha} promoted to production ({how}).</source>
        <translation>Modell {name} · {sha} für die Produktion freigegeben ({how}).</translation>
    </message>
    <message>
        <source>TensorRT engine: rebuilding…</source>
        <translation>TensorRT-Engine: wird neu gebaut…</translation>
    </message>
    <message>
        <source>Collecting recent line images for the engine&apos;s parity check…</source>
        <translation>Aktuelle Linienbilder für den Paritätstest der Engine werden gesammelt…</translation>
    </message>
    <message>
        <source>Building the TensorRT engine (child process)…</source>
        <translation>TensorRT-Engine wird gebaut (Kindprozess)…</translation>
    </message>
    <message>
        <source>Engine: {message} ({done}/{total})</source>
        <translation>Engine: {message} ({done}/{total})</translation>
    </message>
    <message>
        <source>Reading the exported run…</source>
        <translation>Der exportierte Lauf wird gelesen…</translation>
    </message>
    <message>
        <source>Exported {path}</source>
        <translation>Exportiert: {path}</translation>
    </message>
    <message>
        <source>Export failed: see the log.</source>
        <translation>Export fehlgeschlagen: siehe Protokoll.</translation>
    </message>
    <message>
        <source>Export of {run} failed; see the Trainer log.</source>
        <translation>Export von {run} fehlgeschlagen; siehe Trainer-Protokoll.</translation>
    </message>
    <message>
        <source>the run</source>
        <translation>dem Lauf</translation>
    </message>
    <message>
        <source>TensorRT engine built and parity-checked; used from the next start of a run</source>
        <translation>TensorRT-Engine gebaut und auf Parität geprüft; sie wird ab dem nächsten Start eines Laufs verwendet</translation>
    </message>
    <message>
        <source>TensorRT unavailable on this machine ({why}); the station keeps ONNX Runtime</source>
        <translation>TensorRT ist auf diesem Rechner nicht verfügbar ({why}); die Station bleibt bei ONNX Runtime</translation>
    </message>
    <message>
        <source>TensorRT engine build failed ({why}); the station keeps ONNX Runtime</source>
        <translation>Bau der TensorRT-Engine fehlgeschlagen ({why}); die Station bleibt bei ONNX Runtime</translation>
    </message>
    <message>
        <source>Loading the production history…</source>
        <translation>Produktionshistorie wird geladen…</translation>
    </message>
    <message>
        <source>Cannot read the production history: {error}</source>
        <translation>Produktionsverlauf nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>active</source>
        <translation>aktiv</translation>
    </message>
    <message>
        <source>Running: {name} · {sha}</source>
        <translation>Läuft: {name} · {sha}</translation>
    </message>
    <message>
        <source>Running: no model</source>
        <translation>Läuft: kein Modell</translation>
    </message>
    <message>
        <source>⚠ OVERRIDE: promoted without passing the gate</source>
        <translation>⚠ OVERRIDE: ohne bestandenes Gate freigegeben</translation>
    </message>
    <message>
        <source>Override reason: {reason}</source>
        <translation>Override-Grund: {reason}</translation>
    </message>
    <message>
        <source>Pick a model in the production history first.</source>
        <translation>Zuerst ein Modell im Produktionsverlauf wählen.</translation>
    </message>
    <message>
        <source>Rollback failed: {error}</source>
        <translation>Zurückrollen fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Rolling back…</source>
        <translation>Wird zurückgesetzt…</translation>
    </message>
    <message>
        <source>Rolled back to model {name} · {sha} (by {user}).</source>
        <translation>Auf Modell {name} · {sha} zurückgerollt (von {user}).</translation>
    </message>
    <message>
        <source>Model {name} · {sha} was promoted by OVERRIDE without passing the gate ({reason}).</source>
        <translation>Modell {name} · {sha} wurde per OVERRIDE ohne bestandenes Gate freigegeben ({reason}).</translation>
    </message>
</context>
<context>
    <name>ReportDialog</name>
    <message>
        <source>Lot and shift reports</source>
        <translation>Los- und Schichtberichte</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>Shift</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>only station {station}</source>
        <translation>nur Station {station}</translation>
    </message>
    <message>
        <source>Write report</source>
        <translation>Bericht schreiben</translation>
    </message>
    <message>
        <source>HTML page and PDF in {folder}</source>
        <translation>HTML-Seite und PDF in {folder}</translation>
    </message>
    <message>
        <source>Open HTML</source>
        <translation>HTML öffnen</translation>
    </message>
    <message>
        <source>Open PDF</source>
        <translation>PDF öffnen</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>Ordner öffnen</translation>
    </message>
    <message>
        <source>open</source>
        <translation>offen</translation>
    </message>
    <message>
        <source>ended {time}</source>
        <translation>beendet {time}</translation>
    </message>
    <message>
        <source>{shift} (now)</source>
        <translation>{shift} (jetzt)</translation>
    </message>
    <message>
        <source>No lot or shift to report on yet.</source>
        <translation>Noch kein Los und keine Schicht für einen Bericht.</translation>
    </message>
    <message>
        <source>Writing the report of lot {key}…</source>
        <translation>Bericht zu Los {key} wird geschrieben…</translation>
    </message>
    <message>
        <source>Writing the report of shift {key}…</source>
        <translation>Bericht zu Schicht {key} wird geschrieben…</translation>
    </message>
    <message>
        <source>{title}: {n} parts · written {files} in {folder}</source>
        <translation>{title}: {n} Teile · {files} geschrieben in {folder}</translation>
    </message>
    <message>
        <source>Report {title} written: {files}</source>
        <translation>Bericht {title} geschrieben: {files}</translation>
    </message>
    <message>
        <source>No report: {error}</source>
        <translation>Kein Bericht: {error}</translation>
    </message>
    <message>
        <source>Report not written: {error}</source>
        <translation>Bericht nicht geschrieben: {error}</translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <source>Reset password · {user}</source>
        <translation>Passwort zurücksetzen · {user}</translation>
    </message>
    <message>
        <source>the same again</source>
        <translation>noch einmal dasselbe</translation>
    </message>
    <message>
        <source>The person logs in with this password; it also clears the account&apos;s lockout.</source>
        <translation>Die Person meldet sich mit diesem Passwort an; es hebt auch die Sperre des Kontos auf.</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>Neues Passwort</translation>
    </message>
    <message>
        <source>Repeat password</source>
        <translation>Passwort wiederholen</translation>
    </message>
    <message>
        <source>The passwords differ.</source>
        <translation>Die Passwörter stimmen nicht überein.</translation>
    </message>
</context>
<context>
    <name>ReviewActions</name>
    <message>
        <source>Confirm NG</source>
        <translation>NG bestätigen</translation>
    </message>
    <message>
        <source>The part is defective: the station was right, or (ERROR, not inspected) a person found it so.</source>
        <translation>Das Teil ist fehlerhaft: die Station lag richtig, oder (ERROR, nicht geprüft) eine Person hat es so befunden.</translation>
    </message>
    <message>
        <source>False reject</source>
        <translation>Pseudoausschuss</translation>
    </message>
    <message>
        <source>The station flagged a good part.</source>
        <translation>Die Station hat ein gutes Teil beanstandet.</translation>
    </message>
    <message>
        <source>Missed defect</source>
        <translation>Schlupf</translation>
    </message>
    <message>
        <source>The station passed a defective part.</source>
        <translation>Die Station hat ein fehlerhaftes Teil durchgelassen.</translation>
    </message>
    <message>
        <source>Confirm OK</source>
        <translation>OK bestätigen</translation>
    </message>
    <message>
        <source>The part is good: as judged, or (ERROR, not inspected) a person looked and found it good.</source>
        <translation>Das Teil ist gut: wie beurteilt, oder (ERROR, nicht geprüft) eine Person hat es angesehen und für gut befunden.</translation>
    </message>
    <message>
        <source>{help} Key: {key}</source>
        <translation>{help} Taste: {key}</translation>
    </message>
    <message>
        <source>Label defect… (L)</source>
        <translation>Fehler markieren… (L)</translation>
    </message>
    <message>
        <source>Draw where the defect is (missed defect on an OK part, or refine a confirmed NG). Key: L</source>
        <translation>Einzeichnen, wo der Fehler ist (Schlupf an einem OK-Teil oder ein bestätigtes NG verfeinern). Taste: L</translation>
    </message>
    <message>
        <source>Select an inspection before labelling a defect.</source>
        <translation>Vor dem Markieren eines Fehlers eine Prüfung auswählen.</translation>
    </message>
    <message>
        <source>The label editor is not available: {error}</source>
        <translation>Der Markierungseditor ist nicht verfügbar: {error}</translation>
    </message>
    <message>
        <source>Select an inspection before recording a review.</source>
        <translation>Vor dem Erfassen einer Bewertung eine Prüfung auswählen.</translation>
    </message>
    <message>
        <source>&apos;{disposition}&apos; does not apply to the verdict {verdict} (inspection {id}); use {keys}.</source>
        <translation>„{disposition}“ passt nicht zum Prüfergebnis {verdict} (Prüfung {id}); möglich: {keys}.</translation>
    </message>
    <message>
        <source>Inspection {id}: {disposition} by {user} (ERROR part: checked by a person)</source>
        <translation>Prüfung {id}: {disposition} von {user} (ERROR-Teil: von einer Person geprüft)</translation>
    </message>
    <message>
        <source>Inspection {id}: {disposition} by {user}</source>
        <translation>Prüfung {id}: {disposition} von {user}</translation>
    </message>
    <message>
        <source>Could not store the review of inspection {id}: {error}</source>
        <translation>Bewertung von Prüfung {id} konnte nicht gespeichert werden: {error}</translation>
    </message>
</context>
<context>
    <name>RoleController</name>
    <message>
        <source>cannot read the user accounts: {error}; logins may fail</source>
        <translation>Benutzerkonten nicht lesbar: {error}; Anmeldungen können fehlschlagen</translation>
    </message>
    <message>
        <source>The shared QA PIN is no longer accepted: user accounts exist. Log in with your own account (Role ▸ Log in…).</source>
        <translation>Die gemeinsame QS-PIN wird nicht mehr angenommen: es gibt Benutzerkonten. Mit dem eigenen Konto anmelden (Rolle ▸ Anmelden…).</translation>
    </message>
    <message>
        <source>Logged in: {name} ({user}, {role})</source>
        <translation>Angemeldet: {name} ({user}, {role})</translation>
    </message>
    <message>
        <source>QA mode: {user}</source>
        <translation>QS-Modus: {user}</translation>
    </message>
    <message>
        <source>The QA PIN is shorter than {n} characters (from an older version): change it with Role ▸ Change PIN…</source>
        <translation>Die QS-PIN ist kürzer als {n} Zeichen (aus einer älteren Version): unter Rolle ▸ PIN ändern… ändern</translation>
    </message>
    <message>
        <source>Logged out: operator mode</source>
        <translation>Abgemeldet: Bedienermodus</translation>
    </message>
    <message>
        <source>QA PIN changed</source>
        <translation>QS-PIN geändert</translation>
    </message>
    <message>
        <source>Password of {user} changed</source>
        <translation>Passwort von {user} geändert</translation>
    </message>
    <message>
        <source>{user} was disabled: logged out</source>
        <translation>{user} wurde gesperrt: abgemeldet</translation>
    </message>
    <message>
        <source>{user} is now {role}</source>
        <translation>{user} ist jetzt {role}</translation>
    </message>
</context>
<context>
    <name>Roles</name>
    <message>
        <source>Operator</source>
        <translation>Bediener</translation>
    </message>
    <message>
        <source>QA</source>
        <translation>QS</translation>
    </message>
    <message>
        <source>Engineer</source>
        <translation>Ingenieur</translation>
    </message>
    <message>
        <source>Admin</source>
        <translation>Admin</translation>
    </message>
    <message>
        <source>inspect</source>
        <translation>prüfen</translation>
    </message>
    <message>
        <source>lots</source>
        <translation>Lose</translation>
    </message>
    <message>
        <source>reviews</source>
        <translation>Bewertungen</translation>
    </message>
    <message>
        <source>recipes</source>
        <translation>Rezepte</translation>
    </message>
    <message>
        <source>promotion and rollback</source>
        <translation>Freigabe und Zurückrollen</translation>
    </message>
    <message>
        <source>leaving kiosk mode</source>
        <translation>Kioskmodus verlassen</translation>
    </message>
    <message>
        <source>training</source>
        <translation>Training</translation>
    </message>
    <message>
        <source>engine rebuilds</source>
        <translation>Engine-Neubau</translation>
    </message>
    <message>
        <source>products</source>
        <translation>Produkte</translation>
    </message>
    <message>
        <source>user accounts</source>
        <translation>Benutzerkonten</translation>
    </message>
    <message>
        <source>{roles} or {last}</source>
        <translation>{roles} oder {last}</translation>
    </message>
    <message>
        <source>needs {roles}</source>
        <translation>erfordert {roles}</translation>
    </message>
</context>
<context>
    <name>RulesPanel</name>
    <message>
        <source>Draw ROI</source>
        <translation>ROI zeichnen</translation>
    </message>
    <message>
        <source>Drag on the image to draw an inspected zone (regions count only inside)</source>
        <translation>Auf dem Bild ziehen, um eine Prüfzone zu zeichnen (Regionen zählen nur darin)</translation>
    </message>
    <message>
        <source>Draw exclusion</source>
        <translation>Ausschluss zeichnen</translation>
    </message>
    <message>
        <source>Drag on the image to draw a zone whose regions are ignored</source>
        <translation>Auf dem Bild ziehen, um eine Zone zu zeichnen, deren Regionen ignoriert werden</translation>
    </message>
    <message>
        <source>Delete zone</source>
        <translation>Zone löschen</translation>
    </message>
    <message>
        <source>Remove the selected zone (Delete key on the image)</source>
        <translation>Gewählte Zone entfernen (Entf-Taste auf dem Bild)</translation>
    </message>
    <message>
        <source>Zones: pick Draw, drag on the image; drag a zone or its corners to move or resize it; click one and press Delete to remove it.</source>
        <translation>Zonen: Zeichnen wählen, auf dem Bild ziehen; eine Zone oder ihre Ecken ziehen, um sie zu verschieben oder zu skalieren; eine anklicken und Entf drücken, um sie zu entfernen.</translation>
    </message>
    <message>
        <source>No inspection selected</source>
        <translation>Keine Prüfung ausgewählt</translation>
    </message>
    <message>
        <source>Follow latest inspection</source>
        <translation>Neueste Prüfung verfolgen</translation>
    </message>
    <message>
        <source>Show each new inspection as it is logged (off once you pick one)</source>
        <translation>Jede neue Prüfung zeigen, sobald sie protokolliert ist (aus, sobald Sie eine wählen)</translation>
    </message>
    <message>
        <source> inspections</source>
        <translation> Prüfungen</translation>
    </message>
    <message>
        <source>Replay the candidate recipe over this many of the newest logged inspections</source>
        <translation>Das Kandidatenrezept über so viele der neuesten protokollierten Prüfungen nachrechnen</translation>
    </message>
    <message>
        <source>Why this change (required, goes into the audit log)</source>
        <translation>Grund der Änderung (Pflicht, kommt ins Audit-Protokoll)</translation>
    </message>
    <message>
        <source>Apply as new version</source>
        <translation>Als neue Version übernehmen</translation>
    </message>
    <message>
        <source>Revert edits</source>
        <translation>Änderungen verwerfen</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Author</source>
        <translation>Autor</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Grund</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <source>Restoring it changes</source>
        <translation>Wiederherstellen ändert</translation>
    </message>
    <message>
        <source>Restore selected version…</source>
        <translation>Gewählte Version wiederherstellen…</translation>
    </message>
    <message>
        <source>What-if failed: {error}</source>
        <translation>Was-wäre-wenn fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Übernehmen</translation>
    </message>
    <message>
        <source>What-if over the last</source>
        <translation>Was-wäre-wenn über die letzten</translation>
    </message>
    <message>
        <source>Precision / recall</source>
        <translation>Präzision / Trefferquote</translation>
    </message>
    <message>
        <source>Versions</source>
        <translation>Versionen</translation>
    </message>
    <message>
        <source>Could not load inspection {id}: {error}</source>
        <translation>Prüfung {id} konnte nicht geladen werden: {error}</translation>
    </message>
    <message>
        <source>Could not read the inspection log: {error}</source>
        <translation>Prüfprotokoll nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>image not available</source>
        <translation>Bild nicht verfügbar</translation>
    </message>
    <message>
        <source>logged &lt;b&gt;ERROR&lt;/b&gt; (not inspected): no map to re-decide, no recipe changes it</source>
        <translation>protokolliert &lt;b&gt;ERROR&lt;/b&gt; (nicht geprüft): keine Karte zur Neubewertung, kein Rezept ändert das</translation>
    </message>
    <message>
        <source>#{id}: no probability map stored, cannot re-decide</source>
        <translation>#{id}: keine Wahrscheinlichkeitskarte gespeichert, keine Neubewertung möglich</translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation>unverändert</translation>
    </message>
    <message>
        <source>&lt;b&gt;flips {old} → {new}&lt;/b&gt;</source>
        <translation>&lt;b&gt;wechselt {old} → {new}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>logged &lt;b&gt;{logged}&lt;/b&gt; · with these settings &lt;b&gt;{verdict}&lt;/b&gt; ({change})</source>
        <translation>protokolliert &lt;b&gt;{logged}&lt;/b&gt; · mit diesen Einstellungen &lt;b&gt;{verdict}&lt;/b&gt; ({change})</translation>
    </message>
    <message>
        <source>Not a valid recipe: {error}</source>
        <translation>Kein gültiges Rezept: {error}</translation>
    </message>
    <message>
        <source>computing…</source>
        <translation>wird berechnet…</translation>
    </message>
    <message>
        <source>No reviewed inspections yet: review some in History to see precision/recall.</source>
        <translation>Noch keine bewerteten Prüfungen: im Verlauf einige bewerten, um Präzision/Trefferquote zu sehen.</translation>
    </message>
    <message>
        <source>Computing the other sweep…</source>
        <translation>Der andere Durchlauf wird berechnet…</translation>
    </message>
    <message>
        <source>Precision/recall on {n} reviewed inspections (REVIEW counts as flagged); the dashed line is the current setting. [{ms:.0f} ms]</source>
        <translation>Präzision/Trefferquote auf {n} bewerteten Prüfungen (REVIEW zählt als markiert); die gestrichelte Linie ist die aktuelle Einstellung. [{ms:.0f} ms]</translation>
    </message>
    <message>
        <source>Apply refused: the recipe is not valid ({error}).</source>
        <translation>Übernehmen abgelehnt: das Rezept ist ungültig ({error}).</translation>
    </message>
    <message>
        <source>Apply refused: give a reason for the change.</source>
        <translation>Übernehmen abgelehnt: bitte einen Grund für die Änderung angeben.</translation>
    </message>
    <message>
        <source>Nothing to apply: the settings equal the current recipe.</source>
        <translation>Nichts zu übernehmen: die Einstellungen entsprechen dem aktuellen Rezept.</translation>
    </message>
    <message>
        <source>Restore: select a version in the list first.</source>
        <translation>Wiederherstellen: zuerst eine Version in der Liste wählen.</translation>
    </message>
    <message>
        <source>v{version} has the running recipe&apos;s settings; nothing to restore.</source>
        <translation>v{version} hat die Einstellungen des laufenden Rezepts; nichts wiederherzustellen.</translation>
    </message>
    <message>
        <source>Restore recipe version</source>
        <translation>Rezeptversion wiederherstellen</translation>
    </message>
    <message>
        <source>Make the settings of v{version} the running recipe again?</source>
        <translation>Die Einstellungen von v{version} wieder zum laufenden Rezept machen?</translation>
    </message>
    <message>
        <source>This changes:</source>
        <translation>Das ändert:</translation>
    </message>
    <message>
        <source>It is saved as a new version (v{version} stays listed) and audited under {user}.</source>
        <translation>Sie wird als neue Version gespeichert (v{version} bleibt gelistet) und unter {user} protokolliert.</translation>
    </message>
    <message>
        <source>Restore v{version}</source>
        <translation>v{version} wiederherstellen</translation>
    </message>
    <message>
        <source>{what}: the previous recipe version is still being saved.</source>
        <translation>{what}: die vorige Rezeptversion wird noch gespeichert.</translation>
    </message>
    <message>
        <source>Recipe {name} v{version} applied by {user}: {reason}</source>
        <translation>Rezept {name} v{version} übernommen von {user}: {reason}</translation>
    </message>
    <message>
        <source>Could not save the recipe: {error}</source>
        <translation>Rezept konnte nicht gespeichert werden: {error}</translation>
    </message>
    <message>
        <source>Could not read the versions of recipe {name}: {error}</source>
        <translation>Versionen von Rezept {name} nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>v{version} (current)</source>
        <translation>v{version} (aktuell)</translation>
    </message>
    <message>
        <source>&lt;i&gt;Select a version to see its parameters and how it differs from the running recipe.&lt;/i&gt;</source>
        <translation>&lt;i&gt;Eine Version wählen, um ihre Parameter und die Unterschiede zum laufenden Rezept zu sehen.&lt;/i&gt;</translation>
    </message>
    <message>
        <source>the running recipe</source>
        <translation>das laufende Rezept</translation>
    </message>
    <message>
        <source>1 setting differs from the running recipe (marked)</source>
        <translation>1 Einstellung weicht vom laufenden Rezept ab (markiert)</translation>
    </message>
    <message>
        <source>{n} settings differ from the running recipe (marked)</source>
        <translation>{n} Einstellungen weichen vom laufenden Rezept ab (markiert)</translation>
    </message>
    <message>
        <source>same settings as the running recipe</source>
        <translation>gleiche Einstellungen wie das laufende Rezept</translation>
    </message>
    <message>
        <source>by {user}</source>
        <translation>von {user}</translation>
    </message>
    <message>
        <source>running (v{version})</source>
        <translation>laufend (v{version})</translation>
    </message>
</context>
<context>
    <name>RunsTable</name>
    <message>
        <source>Run</source>
        <translation>Lauf</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>Epochen</translation>
    </message>
    <message>
        <source>Best val Dice</source>
        <translation>Bester Val-Dice</translation>
    </message>
    <message>
        <source>Val Dice defective</source>
        <translation>Val-Dice fehlerhaft</translation>
    </message>
    <message>
        <source>Exported</source>
        <translation>Exportiert</translation>
    </message>
    <message>
        <source>completed</source>
        <translation>abgeschlossen</translation>
    </message>
    <message>
        <source>early stop</source>
        <translation>früh gestoppt</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>incomplete</source>
        <translation>unvollständig</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>no</source>
        <translation>nein</translation>
    </message>
    <message>
        <source>{path}
data: {data}</source>
        <translation>{path}
Daten: {data}</translation>
    </message>
</context>
<context>
    <name>SelfTestBanner</name>
    <message>
        <source>Self-test failed: station will not pass parts — every part is logged as ERROR</source>
        <translation>Selbsttest fehlgeschlagen: die Station gibt keine Teile frei — jedes Teil wird als ERROR protokolliert</translation>
    </message>
    <message>
        <source>Model {model} ({sha}), recipe {recipe} v{version}, {backend}.</source>
        <translation>Modell {model} ({sha}), Rezept {recipe} v{version}, {backend}.</translation>
    </message>
    <message>
        <source>… and {n} more</source>
        <translation>… und {n} weitere</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>System ({language})</source>
        <translation>System ({language})</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>Sprache:</translation>
    </message>
    <message>
        <source>The language changes at the next start of the station.</source>
        <translation>Die Sprache wechselt beim nächsten Start der Station.</translation>
    </message>
    <message>
        <source>This station is started with {env}={value}, which overrides this choice.</source>
        <translation>Diese Station wird mit {env}={value} gestartet; das übersteuert diese Wahl.</translation>
    </message>
    <message>
        <source>Language set to {language}: it applies at the next start.</source>
        <translation>Sprache auf {language} gesetzt: sie gilt ab dem nächsten Start.</translation>
    </message>
</context>
<context>
    <name>SourceChooser</name>
    <message>
        <source>Demo (synthetic)</source>
        <translation>Demo (synthetisch)</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <source>Hot folder (watch)</source>
        <translation>Überwachter Ordner</translation>
    </message>
    <message>
        <source>Camera (index or URL)</source>
        <translation>Kamera (Index oder URL)</translation>
    </message>
    <message>
        <source>Video file</source>
        <translation>Videodatei</translation>
    </message>
    <message>
        <source>GenICam camera</source>
        <translation>GenICam-Kamera</translation>
    </message>
    <message>
        <source>{kind}: enter a path, index or URL first</source>
        <translation>{kind}: zuerst einen Pfad, Index oder eine URL eingeben</translation>
    </message>
    <message>
        <source>synthetic DAGM-like images, no setup needed</source>
        <translation>synthetische DAGM-ähnliche Bilder, keine Einrichtung nötig</translation>
    </message>
    <message>
        <source>folder with images, e.g. /data/lot42</source>
        <translation>Ordner mit Bildern, z. B. /data/los42</translation>
    </message>
    <message>
        <source>folder to watch for new images</source>
        <translation>Ordner, der auf neue Bilder überwacht wird</translation>
    </message>
    <message>
        <source>camera index (0) or rtsp:// / http:// URL</source>
        <translation>Kameraindex (0) oder rtsp://- / http://-URL</translation>
    </message>
    <message>
        <source>video file (.mp4 .avi .mkv .mov)</source>
        <translation>Videodatei (.mp4 .avi .mkv .mov)</translation>
    </message>
    <message>
        <source>GenTL producer .cti path, optionally #SERIAL</source>
        <translation>Pfad zum GenTL-Producer (.cti), optional #SERIENNR</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>Sub-folders</source>
        <translation>Unterordner</translation>
    </message>
    <message>
        <source>Skip already logged</source>
        <translation>Bereits protokollierte überspringen</translation>
    </message>
    <message>
        <source>Resume: images this station already logged with the same content, model and recipe are not inspected again (a new model or recipe inspects everything); skipped parts are counted</source>
        <translation>Fortsetzen: Bilder, die diese Station schon mit gleichem Inhalt, Modell und Rezept protokolliert hat, werden nicht erneut geprüft (ein neues Modell oder Rezept prüft alles); übersprungene Teile werden gezählt</translation>
    </message>
    <message>
        <source>unknown source kind {kind}</source>
        <translation>unbekannte Quellenart {kind}</translation>
    </message>
    <message>
        <source>Choose an image folder</source>
        <translation>Bildordner wählen</translation>
    </message>
    <message>
        <source>Videos (*.mp4 *.avi *.mkv *.mov)</source>
        <translation>Videos (*.mp4 *.avi *.mkv *.mov)</translation>
    </message>
    <message>
        <source>GenTL producer (*.cti)</source>
        <translation>GenTL-Producer (*.cti)</translation>
    </message>
    <message>
        <source>Choose a file</source>
        <translation>Datei wählen</translation>
    </message>
</context>
<context>
    <name>Startup</name>
    <message>
        <source>recipe {name} from the database is unusable: {error}</source>
        <translation>Rezept {name} aus der Datenbank ist unbrauchbar: {error}</translation>
    </message>
    <message>
        <source>no recipe at {path}: using built-in defaults</source>
        <translation>kein Rezept unter {path}: die eingebauten Vorgaben werden verwendet</translation>
    </message>
    <message>
        <source>cannot read the production model from the database: {error}</source>
        <translation>Produktionsmodell aus der Datenbank nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>shipped demo model</source>
        <translation>mitgeliefertes Demomodell</translation>
    </message>
    <message>
        <source>cannot read the promotion record of {path}: {error}</source>
        <translation>Freigabe-Eintrag von {path} nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>{what} not found: {path}</source>
        <translation>{what} nicht gefunden: {path}</translation>
    </message>
    <message>
        <source>No model available: inspection cannot start. Expected {path}; install or train a model, or start with --model PATH.</source>
        <translation>Kein Modell verfügbar: die Prüfung kann nicht starten. Erwartet: {path}; ein Modell installieren oder trainieren oder mit --model PFAD starten.</translation>
    </message>
    <message>
        <source>no model</source>
        <translation>kein Modell</translation>
    </message>
    <message>
        <source>Production model {name} · {sha} was promoted by QA OVERRIDE without passing the promotion gate ({reason}). Roll back in the Trainer tab if in doubt.</source>
        <translation>Produktionsmodell {name} · {sha} wurde per QS-OVERRIDE ohne bestandenes Freigabe-Gate freigegeben ({reason}). Im Zweifel im Trainer-Reiter zurückrollen.</translation>
    </message>
    <message>
        <source>Production model {name} · {sha} refused: {why}</source>
        <translation>Produktionsmodell {name} · {sha} abgelehnt: {why}</translation>
    </message>
    <message>
        <source>No usable production model: inspection cannot start. {name} · {sha} and every earlier production model were refused (see above). Restore the model file or promote a model (Trainer tab).</source>
        <translation>Kein nutzbares Produktionsmodell: die Prüfung kann nicht starten. {name} · {sha} und alle früheren Produktionsmodelle wurden abgelehnt (siehe oben). Die Modelldatei wiederherstellen oder ein Modell freigeben (Trainer-Reiter).</translation>
    </message>
    <message>
        <source>no usable production model</source>
        <translation>kein nutzbares Produktionsmodell</translation>
    </message>
    <message>
        <source>Running the previous production model {name} · {sha} instead; the database still names {active} · {active_sha} as production (QA: roll back in the Trainer tab, or restore its file).</source>
        <translation>Stattdessen läuft das vorige Produktionsmodell {name} · {sha}; die Datenbank nennt weiterhin {active} · {active_sha} als Produktion (QS: im Trainer-Reiter zurückrollen oder seine Datei wiederherstellen).</translation>
    </message>
    <message>
        <source>The shipped model could not be registered as production: {error}</source>
        <translation>Das mitgelieferte Modell konnte nicht als Produktionsmodell registriert werden: {error}</translation>
    </message>
    <message>
        <source>Shipped model {name} · {sha} registered as the first production model (rollback can always return to it).</source>
        <translation>Mitgeliefertes Modell {name} · {sha} als erstes Produktionsmodell registriert (ein Zurückrollen kann immer dorthin zurückkehren).</translation>
    </message>
    <message>
        <source>Station {station} ready · recipe {recipe} v{version}</source>
        <translation>Station {station} bereit · Rezept {recipe} v{version}</translation>
    </message>
    <message>
        <source>Source {source} chosen as in the last session; press Start (F5) to inspect it.</source>
        <translation>Quelle {source} wie in der letzten Sitzung gewählt; Start (F5) drücken, um sie zu prüfen.</translation>
    </message>
    <message>
        <source>--source {spec}: {error}</source>
        <translation>--source {spec}: {error}</translation>
    </message>
    <message>
        <source>Defect Inspector</source>
        <translation>Defect Inspector</translation>
    </message>
    <message>
        <source>The station could not start:
{error}</source>
        <translation>Die Station konnte nicht starten:
{error}</translation>
    </message>
</context>
<context>
    <name>StationStatusBar</name>
    <message>
        <source>⚠ OVERRIDE: model promoted without passing the gate</source>
        <translation>⚠ OVERRIDE: Modell ohne bestandenes Gate freigegeben</translation>
    </message>
    <message>
        <source>no database</source>
        <translation>keine Datenbank</translation>
    </message>
    <message>
        <source>DB {url}</source>
        <translation>DB {url}</translation>
    </message>
    <message>
        <source>Verdict database: {url}
Station: {station}</source>
        <translation>Prüfergebnis-Datenbank: {url}
Station: {station}</translation>
    </message>
    <message>
        <source>backend: loads at first start</source>
        <translation>Backend: lädt beim ersten Start</translation>
    </message>
    <message>
        <source>backend: none</source>
        <translation>Backend: keines</translation>
    </message>
    <message>
        <source>Model {name} · {sha}</source>
        <translation>Modell {name} · {sha}</translation>
    </message>
    <message>
        <source>Model: NONE</source>
        <translation>Modell: KEINES</translation>
    </message>
    <message>
        <source>Model {name} was promoted by QA override although it failed the promotion gate.
Reason: {reason}
Roll back in the Trainer tab if in doubt.</source>
        <translation>Modell {name} wurde per QS-Override freigegeben, obwohl es das Freigabe-Gate nicht bestanden hat.
Grund: {reason}
Im Zweifel im Trainer-Reiter zurückrollen.</translation>
    </message>
    <message>
        <source>Recipe {name} v{version}</source>
        <translation>Rezept {name} v{version}</translation>
    </message>
    <message>
        <source>threshold {threshold:.2f}, min area {area} px</source>
        <translation>Schwelle {threshold:.2f}, Mindestfläche {area} px</translation>
    </message>
    <message>
        <source>Line: {outputs}</source>
        <translation>Linie: {outputs}</translation>
    </message>
    <message numerus="yes">
        <source>⚠ %n message(s)</source>
        <translation>
            <numerusform>⚠ %n Meldung</numerusform>
            <numerusform>⚠ %n Meldungen</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>TrainerPanel</name>
    <message>
        <source>Epochs</source>
        <translation>Epochen</translation>
    </message>
    <message>
        <source>Steps per epoch</source>
        <translation>Schritte pro Epoche</translation>
    </message>
    <message>
        <source>Batch</source>
        <translation>Batch</translation>
    </message>
    <message>
        <source>Crop (px)</source>
        <translation>Ausschnitt (px)</translation>
    </message>
    <message>
        <source>Base filters</source>
        <translation>Basisfilter</translation>
    </message>
    <message>
        <source>Fine-tuning starts from the production model&apos;s weights, with its architecture (base filters and depth come from its model card, so that setting is locked). The trainer checks the rebuilt net against the ONNX file before the first step. Otherwise a fresh U-Net is trained from random weights.</source>
        <translation>Das Nachtrainieren beginnt mit den Gewichten des Produktionsmodells und seiner Architektur (Basisfilter und Tiefe stammen aus seiner Modellkarte, daher ist diese Einstellung gesperrt). Der Trainer prüft das nachgebaute Netz vor dem ersten Schritt gegen die ONNX-Datei. Andernfalls wird ein neues U-Net mit Zufallsgewichten trainiert.</translation>
    </message>
    <message>
        <source>ETA {time}</source>
        <translation>Restzeit {time}</translation>
    </message>
    <message>
        <source>Test split</source>
        <translation>Testaufteilung</translation>
    </message>
    <message>
        <source>{split} split (no test split: these are the val figures)</source>
        <translation>Aufteilung {split} (keine Testaufteilung: das sind die Val-Werte)</translation>
    </message>
    <message>
        <source>{head}: {n} images, {defective} defective; threshold {threshold:.2f} chosen on val
image TPR {tpr} ({tp}/{pos}), TNR {tnr} ({tn}/{neg}); Dice defective {dice_def:.3f}, all {dice_all:.3f}; AUROC {auroc:.3f}, AP {ap:.3f}</source>
        <translation>{head}: {n} Bilder, {defective} fehlerhaft; Schwelle {threshold:.2f} auf Val gewählt
Bild-TPR {tpr} ({tp}/{pos}), TNR {tnr} ({tn}/{neg}); Dice fehlerhaft {dice_def:.3f}, alle {dice_all:.3f}; AUROC {auroc:.3f}, AP {ap:.3f}</translation>
    </message>
    <message>
        <source>Continue a cancelled or unfinished run from its last epoch (same data, same split); Epochs above sets the new total</source>
        <translation>Einen abgebrochenen oder unvollständigen Lauf ab seiner letzten Epoche fortsetzen (gleiche Daten, gleiche Aufteilung); „Epochen“ oben legt die neue Gesamtzahl fest</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>Daten</translation>
    </message>
    <message>
        <source>DAGM folder or images/ + masks/ folder (optional)</source>
        <translation>DAGM-Ordner oder Ordner mit images/ + masks/ (optional)</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>Reviewed inspections from the verdict log</source>
        <translation>Bewertete Prüfungen aus dem Prüfprotokoll</translation>
    </message>
    <message>
        <source>False rejects / confirmed OK as defect-free, confirmed NG and labelled missed defects with their masks; merged with the folder when both are on</source>
        <translation>Pseudoausschuss / bestätigte OK als fehlerfrei, bestätigte NG und markierter Schlupf mit ihren Masken; mit dem Ordner zusammengeführt, wenn beides gewählt ist</translation>
    </message>
    <message>
        <source>Check data</source>
        <translation>Daten prüfen</translation>
    </message>
    <message>
        <source>Read the folder as training will: counts, sizes, refused files</source>
        <translation>Den Ordner lesen wie das Training: Anzahlen, Größen, abgelehnte Dateien</translation>
    </message>
    <message>
        <source>Start from</source>
        <translation>Start mit</translation>
    </message>
    <message>
        <source>Fresh U-Net</source>
        <translation>Neues U-Net</translation>
    </message>
    <message>
        <source>Fine-tune the production model</source>
        <translation>Produktionsmodell nachtrainieren</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>auto (from the data)</source>
        <translation>auto (aus den Daten)</translation>
    </message>
    <message>
        <source>Start training</source>
        <translation>Training starten</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Stops after the current step; the best checkpoint is kept</source>
        <translation>Stoppt nach dem aktuellen Schritt; der beste Checkpoint bleibt erhalten</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>Past runs</source>
        <translation>Frühere Läufe</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Resume selected run</source>
        <translation>Gewählten Lauf fortsetzen</translation>
    </message>
    <message>
        <source>Precision/recall of the final evaluation (test split)</source>
        <translation>Präzision/Trefferquote der abschließenden Bewertung (Testaufteilung)</translation>
    </message>
    <message>
        <source>Training data folder</source>
        <translation>Ordner mit Trainingsdaten</translation>
    </message>
    <message>
        <source>Data folder not found: {folder}</source>
        <translation>Datenordner nicht gefunden: {folder}</translation>
    </message>
    <message>
        <source>Reading {folder}…</source>
        <translation>{folder} wird gelesen…</translation>
    </message>
    <message>
        <source>Cannot train on this folder: {error}</source>
        <translation>Mit diesem Ordner ist kein Training möglich: {error}</translation>
    </message>
    <message>
        <source>The current model ({name}) has no training config in its model card (missing {missing}), so its network cannot be rebuilt: only a fresh U-Net can be trained.</source>
        <translation>Das aktuelle Modell ({name}) hat keine Trainingskonfiguration in seiner Modellkarte (es fehlt {missing}), daher kann sein Netz nicht nachgebaut werden: nur ein neues U-Net kann trainiert werden.</translation>
    </message>
    <message>
        <source>The current model file is not an ONNX file on disk: {path}</source>
        <translation>Die aktuelle Modelldatei ist keine ONNX-Datei auf der Festplatte: {path}</translation>
    </message>
    <message>
        <source>Checking the current model file {path}…</source>
        <translation>Die aktuelle Modelldatei {path} wird geprüft…</translation>
    </message>
    <message>
        <source>{filters} base filters, depth {depth}</source>
        <translation>{filters} Basisfilter, Tiefe {depth}</translation>
    </message>
    <message>
        <source>Production model: {name} ({arch}).</source>
        <translation>Produktionsmodell: {name} ({arch}).</translation>
    </message>
    <message>
        <source>Training {needs}</source>
        <translation>Training {needs}</translation>
    </message>
    <message>
        <source>Trainer: pick a data folder, the reviewed inspections, or both.</source>
        <translation>Trainer: einen Datenordner, die bewerteten Prüfungen oder beides wählen.</translation>
    </message>
    <message>
        <source>Checking the data folder…</source>
        <translation>Der Datenordner wird geprüft…</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Startet…</translation>
    </message>
    <message>
        <source>Trainer: data folder not found: {folder}</source>
        <translation>Trainer: Datenordner nicht gefunden: {folder}</translation>
    </message>
    <message>
        <source>Exporting the reviewed inspections…</source>
        <translation>Die bewerteten Prüfungen werden exportiert…</translation>
    </message>
    <message>
        <source>Trainer: could not start training: {error}</source>
        <translation>Trainer: Training konnte nicht gestartet werden: {error}</translation>
    </message>
    <message>
        <source>Could not prepare the data: {error}</source>
        <translation>Daten konnten nicht vorbereitet werden: {error}</translation>
    </message>
    <message>
        <source>Trainer: could not prepare the data: {error}</source>
        <translation>Trainer: Daten konnten nicht vorbereitet werden: {error}</translation>
    </message>
    <message>
        <source>fine-tuning {model}</source>
        <translation>Nachtrainieren von {model}</translation>
    </message>
    <message>
        <source>a fresh U-Net</source>
        <translation>ein neues U-Net</translation>
    </message>
    <message>
        <source>Training {run}… ({start})</source>
        <translation>Training {run}… ({start})</translation>
    </message>
    <message>
        <source>Resuming {run} from epoch {epoch}…</source>
        <translation>{run} wird ab Epoche {epoch} fortgesetzt…</translation>
    </message>
    <message>
        <source>Cancelled before training started.</source>
        <translation>Abgebrochen, bevor das Training begann.</translation>
    </message>
    <message>
        <source>Stopping after the current step; the best checkpoint is kept…</source>
        <translation>Stoppt nach dem aktuellen Schritt; der beste Checkpoint bleibt erhalten…</translation>
    </message>
    <message>
        <source>Finished {run}. Export it on the right to evaluate and promote.</source>
        <translation>{run} fertig. Rechts exportieren, um ihn zu bewerten und freizugeben.</translation>
    </message>
    <message>
        <source>Training finished: {run}</source>
        <translation>Training beendet: {run}</translation>
    </message>
    <message>
        <source>best checkpoint kept: {path}</source>
        <translation>bester Checkpoint erhalten: {path}</translation>
    </message>
    <message>
        <source>no checkpoint yet</source>
        <translation>noch kein Checkpoint</translation>
    </message>
    <message>
        <source>Cancelled ({kept}).</source>
        <translation>Abgebrochen ({kept}).</translation>
    </message>
    <message>
        <source>Did not stop in time and was killed ({kept}).</source>
        <translation>Nicht rechtzeitig gestoppt und hart beendet ({kept}).</translation>
    </message>
    <message>
        <source>Training cancelled; {kept}</source>
        <translation>Training abgebrochen; {kept}</translation>
    </message>
    <message>
        <source>Training killed; {kept}</source>
        <translation>Training hart beendet; {kept}</translation>
    </message>
    <message>
        <source>exit code {code}</source>
        <translation>Exit-Code {code}</translation>
    </message>
    <message>
        <source>Training failed: {error}</source>
        <translation>Training fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Trainer: cannot read the runs folder: {error}</source>
        <translation>Trainer: Der Ordner der Läufe kann nicht gelesen werden: {error}</translation>
    </message>
</context>
<context>
    <name>UserAdminDialog</name>
    <message>
        <source>User name</source>
        <translation>Benutzername</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Enabled</source>
        <translation>Aktiv</translation>
    </message>
    <message>
        <source>Last login</source>
        <translation>Letzte Anmeldung</translation>
    </message>
    <message>
        <source>Last changed</source>
        <translation>Zuletzt geändert</translation>
    </message>
    <message>
        <source>Login</source>
        <translation>Anmeldung</translation>
    </message>
    <message>
        <source>never</source>
        <translation>nie</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Roles</source>
        <translation>Rollen</translation>
    </message>
    <message>
        <source>Add user…</source>
        <translation>Benutzer hinzufügen…</translation>
    </message>
    <message>
        <source>Reset password…</source>
        <translation>Passwort zurücksetzen…</translation>
    </message>
    <message>
        <source>Disable</source>
        <translation>Sperren</translation>
    </message>
    <message>
        <source>Set role</source>
        <translation>Rolle setzen</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Role of the selected user</source>
        <translation>Rolle des gewählten Benutzers</translation>
    </message>
    <message>
        <source>Cannot read the users: {error}</source>
        <translation>Benutzer nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>locked {wait}</source>
        <translation>gesperrt {wait}</translation>
    </message>
    <message>
        <source>{n} wrong in a row</source>
        <translation>{n} falsch in Folge</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>disabled</source>
        <translation>gesperrt</translation>
    </message>
    <message>
        <source>{time} by {user}</source>
        <translation>{time} von {user}</translation>
    </message>
    <message>
        <source>Signed in as &lt;b&gt;{user}&lt;/b&gt;. Every change here is an audit event under that name.</source>
        <translation>Angemeldet als &lt;b&gt;{user}&lt;/b&gt;. Jede Änderung hier wird unter diesem Namen protokolliert.</translation>
    </message>
    <message>
        <source>User administration {needs}.</source>
        <translation>Benutzerverwaltung {needs}.</translation>
    </message>
    <message>
        <source>Enable</source>
        <translation>Entsperren</translation>
    </message>
    <message>
        <source>{what}: {user} ({role}, enabled).</source>
        <translation>{what}: {user} ({role}, aktiv).</translation>
    </message>
    <message>
        <source>{what}: {user} ({role}, disabled).</source>
        <translation>{what}: {user} ({role}, gesperrt).</translation>
    </message>
    <message>
        <source>{what} refused: {error}</source>
        <translation>{what} abgelehnt: {error}</translation>
    </message>
    <message>
        <source>{user} is {role} already.</source>
        <translation>{user} ist bereits {role}.</translation>
    </message>
</context>
<context>
    <name>VerdictBanner</name>
    <message>
        <source>ERROR — not inspected</source>
        <translation>ERROR — nicht geprüft</translation>
    </message>
    <message>
        <source>READY</source>
        <translation>BEREIT</translation>
    </message>
    <message>
        <source>Choose a source and press Start (F5)</source>
        <translation>Quelle wählen und Start drücken (F5)</translation>
    </message>
    <message>
        <source>… and {n} more</source>
        <translation>… und {n} weitere</translation>
    </message>
    <message>
        <source>no defect found</source>
        <translation>kein Fehler gefunden</translation>
    </message>
</context>
<context>
    <name>VerdictExporter</name>
    <message>
        <source>Export CSV…</source>
        <translation>CSV exportieren…</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>Write the verdicts the filter shows (all pages): {format}</source>
        <translation>Die Prüfergebnisse schreiben, die der Filter zeigt (alle Seiten): {format}</translation>
    </message>
    <message>
        <source>Export verdicts</source>
        <translation>Prüfergebnisse exportieren</translation>
    </message>
    <message>
        <source>Exporting… {n}</source>
        <translation>Export läuft… {n}</translation>
    </message>
    <message>
        <source>{n} verdicts exported to {path}</source>
        <translation>{n} Prüfergebnisse exportiert nach {path}</translation>
    </message>
    <message>
        <source>Verdicts not exported: {error}</source>
        <translation>Prüfergebnisse nicht exportiert: {error}</translation>
    </message>
    <message>
        <source>Export Excel…</source>
        <translation>Excel exportieren…</translation>
    </message>
    <message>
        <source>Excel (*.xlsx)</source>
        <translation>Excel (*.xlsx)</translation>
    </message>
</context>
<context>
    <name>VerdictTile</name>
    <message>
        <source>READY</source>
        <translation>BEREIT</translation>
    </message>
</context>
<context>
    <name>Weekdays</name>
    <message>
        <source>Mon</source>
        <translation>Mo</translation>
    </message>
    <message>
        <source>Tue</source>
        <translation>Di</translation>
    </message>
    <message>
        <source>Wed</source>
        <translation>Mi</translation>
    </message>
    <message>
        <source>Thu</source>
        <translation>Do</translation>
    </message>
    <message>
        <source>Fri</source>
        <translation>Fr</translation>
    </message>
    <message>
        <source>Sat</source>
        <translation>Sa</translation>
    </message>
    <message>
        <source>Sun</source>
        <translation>So</translation>
    </message>
</context>
<context>
    <name>ZoneOverlay</name>
    <message>
        <source>ROI</source>
        <translation>ROI</translation>
    </message>
    <message>
        <source>excl.</source>
        <translation>Ausschl.</translation>
    </message>
</context>
<context>
    <name>ZoneTable</name>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>Hinzufügen</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <source>Add a rectangle; then type its x, y, width and height in pixels</source>
        <translation>Rechteck hinzufügen; dann x, y, Breite und Höhe in Pixeln eingeben</translation>
    </message>
    <message>
        <source>Polygon with {n} points (bounding box shown); edit it in the file</source>
        <translation>Polygon mit {n} Punkten (gezeigt als umschließendes Rechteck); in der Datei bearbeiten</translation>
    </message>
    <message>
        <source>zone {n}: {column} &apos;{text}&apos; is not a number</source>
        <translation>Zone {n}: {column} „{text}“ ist keine Zahl</translation>
    </message>
    <message>
        <source>zone {n}: width and height must be positive</source>
        <translation>Zone {n}: Breite und Höhe müssen positiv sein</translation>
    </message>
</context>
<context>
    <name>_FormDialog</name>
    <message>
        <source>at least {n} characters</source>
        <translation>mindestens {n} Zeichen</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Wird gespeichert…</translation>
    </message>
</context>
</TS>

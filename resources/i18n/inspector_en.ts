<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>MessageArea</name>
    <message numerus="yes">
        <source>%n message(s), {problems} warnings/errors</source>
        <translation>
            <numerusform>%n message, {problems} warnings/errors</numerusform>
            <numerusform>%n messages, {problems} warnings/errors</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n message(s)</source>
        <translation>
            <numerusform>%n message</numerusform>
            <numerusform>%n messages</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>StationStatusBar</name>
    <message numerus="yes">
        <source>⚠ %n message(s)</source>
        <translation>
            <numerusform>⚠ %n message</numerusform>
            <numerusform>⚠ %n messages</numerusform>
        </translation>
    </message>
</context>
</TS>

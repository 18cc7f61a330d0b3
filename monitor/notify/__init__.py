"""Notification: apprise channels, message rendering, charts and secret redaction.

`channels.send` performs one real send to one channel; `render` turns alerts into messages;
`redact` keeps channel secrets out of logs, the database and CLI output.
"""

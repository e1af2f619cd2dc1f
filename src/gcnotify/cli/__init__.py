"""The ``gcnotify`` command line and the local demo."""

"""One Textual screen per mode (ATM, pipeline; live or a scenario), the modal screens, the keys."""

"""The widgets the screens are made of, one a file; each renders what it is handed."""

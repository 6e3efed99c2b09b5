"""`atm-tui check URL`: the lesson's faults against anyone's Idempotency-Key server, rule by rule."""

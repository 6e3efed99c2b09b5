"""The bank as a real HTTP API (Starlette on uvicorn) with the Idempotency-Key header. No Textual."""

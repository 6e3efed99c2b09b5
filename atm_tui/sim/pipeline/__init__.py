"""The log pipeline: producer, broker, consumer group, and the report and replay of a run."""

"""The worker: moves votes from the Redis stream to Postgres, each counted exactly once."""

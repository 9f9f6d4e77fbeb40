"""Code shared by the vote, worker and result services.

Holds the contract between the services (the queue message and the database schema) so that it
is written once, plus the plumbing all three need: settings, logging, connections and backoff.
"""

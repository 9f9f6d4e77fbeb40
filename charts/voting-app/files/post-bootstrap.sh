#!/bin/sh
# Patroni's post_bootstrap: make the app's database. $1 is a connection string to the new leader.
# Its commit waits for no standby (none exists yet, and synchronous mode would wait for one).
set -eu
echo 'CREATE DATABASE :"db"' |
  PGOPTIONS='-c synchronous_commit=local' psql "$1" -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB"

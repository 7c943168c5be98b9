#!/bin/sh
# Run once by the postgres image, on an empty data folder: Huella's own role (not a superuser)
# and the database it owns.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --set=password="$HUELLA_DB_PASSWORD" <<'SQL'
CREATE ROLE huella LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
CREATE DATABASE huella OWNER huella;
SQL

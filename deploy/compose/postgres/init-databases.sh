#!/bin/sh
# Runs once, when PostgreSQL's data volume is empty (/docker-entrypoint-initdb.d): a role and a
# database for each service and for Keycloak. Each role owns its own database, and nobody else
# may connect to it: a service's credentials open only that service's data.
set -eu

create() {  # role/database name, password
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       --set=name="$1" --set=password="$2" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
}

create intake "$SUARA_INTAKE_DB_PASSWORD"
create cases "$SUARA_CASES_DB_PASSWORD"
create mediation "$SUARA_MEDIATION_DB_PASSWORD"
create notification "$SUARA_NOTIFICATION_DB_PASSWORD"
create keycloak "$KEYCLOAK_DB_PASSWORD"

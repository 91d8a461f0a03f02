#!/usr/bin/env bash
# Real Kafka, Elasticsearch and PostgreSQL for yuqing's integration tests,
# installed and started by the project itself (issue 3).
#
#   deploy/local/services.sh {start|stop|status} [kafka|es|pg ...]   (no names = all three)
#
# Everything lives in .cache/services/ under the repository root (git-ignored):
# jars and the Elasticsearch zip come from Maven Central through `mvn` (with a
# Maven local repository inside the cache), PostgreSQL from Debian's packages.
# Every server listens on 127.0.0.1 only. `start` is idempotent, waits until
# each server answers real requests, and writes the environment the tests use
# to .cache/services/env (sourceable). Must run as root on Debian (it may
# apt-get install java, maven, curl, unzip and postgresql, and it creates the
# unprivileged user yuqing-es, because Elasticsearch refuses to run as root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache/services"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"     # not 4.x: kafka-go's consumer groups fail on it
SCALA_VERSION="2.13"
ES_VERSION="${ES_VERSION:-8.19.21}"         # newest 8.19.x of integ-test-zip on Maven Central
ES_USER="yuqing-es"
PG_USER="postgres"

KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
ES_HTTP_PORT=19200
ES_TRANSPORT_PORT=19300
PG_PORT=15432

READY_TIMEOUT="${READY_TIMEOUT:-180}"       # seconds each server gets to become ready

KAFKA_DIR="$CACHE/kafka"
# Elasticsearch runs as an unprivileged user, who must be able to reach its
# files: when the repository sits under a private folder (such as /root), its
# files go to a folder of their own under /var/tmp instead, named after the
# repository's path so that two checkouts never share one.
ES_DIR="$CACHE/es"
es_reachable() { # dir: can a user other than root walk down to it?
  local d="$1"
  while [ "$d" != / ] && [ -n "$d" ]; do
    if [ -e "$d" ] && [ "$(stat -c %A "$d" | cut -c10)" != x ] && [ "$(stat -c %A "$d" | cut -c10)" != t ]; then
      return 1
    fi
    d=$(dirname "$d")
  done
}
if ! es_reachable "$ROOT"; then
  ES_DIR="/var/tmp/yuqing-services-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/es"
fi
PG_DIR="$CACHE/pg"
M2_REPO="$CACHE/m2"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

now_ms() { date +%s%3N; }
elapsed() { # start_ms -> "12.3"
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100))
}

apt_updated=0
apt_install() { # packages...
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >/dev/null
}

need_cmd() { # command package
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

# mvn with its local repository inside the cache; output goes to a log file.
mvn_run() { # logfile args...
  local logfile=$1
  shift
  mvn -B -ntp -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" "$@" >"$logfile" 2>&1
}

ensure_java() {
  need_cmd java openjdk-17-jdk-headless
  need_cmd javac openjdk-17-jdk-headless
  need_cmd mvn maven
}

# The JDK behind `java`, for ES_JAVA_HOME.
java_home() { dirname "$(dirname "$(readlink -f "$(command -v java)")")"; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

read_pid() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Who (if anyone) listens on a port, for error messages.
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -1; }

rss_of() { # pid -> "123 MiB"
  local kb
  kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
  [ -n "$kb" ] && echo "$((kb / 1024)) MiB" || echo "?"
}

# Print the tail of a log and fail.
fail_with_log() { # message logfile
  local msg=$1 file=$2
  {
    printf '[services] error: %s\n' "$msg"
    if [ -f "$file" ]; then
      printf '[services] last 40 lines of %s:\n' "$file"
      tail -n 40 "$file" | sed 's/^/    /'
    else
      printf '[services] (no log at %s)\n' "$file"
    fi
  } >&2
  exit 1
}

# wait_until <timeout> <pid-or-empty> <logfile> <what> <command...>
# Runs the command every second until it succeeds; fails if the process dies.
wait_until() {
  local timeout=$1 pid=$2 logfile=$3 what=$4
  shift 4
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! pid_alive "$pid"; then
      fail_with_log "$what exited before it was ready" "$logfile"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail_with_log "$what not ready after ${timeout}s${pid:+ (pid $pid still running; stop it with: $0 stop)}" "$logfile"
    fi
    sleep 1
  done
}

# Stop a process by pid file: TERM, wait, then KILL.
stop_pid() { # name pidfile [timeout]
  local name=$1 pidfile=$2 timeout=${3:-60} pid
  pid=$(read_pid "$pidfile")
  if ! pid_alive "$pid"; then
    rm -f "$pidfile"
    log "$name: already stopped"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < timeout; i++)); do
    pid_alive "$pid" || break
    sleep 1
  done
  if pid_alive "$pid"; then
    log "$name: still alive after ${timeout}s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$pidfile"
  log "$name: stopped"
}

# Record how long the last start took: with install/download, and the server alone.
record_startup() { # service t0_ms(start of command) t1_ms(server launched)
  local total server
  total=$(elapsed "$2")
  server=$(elapsed "$3")
  printf 'total=%ss server=%ss at=%s\n' "$total" "$server" "$(date -Is)" >"$CACHE/$1.startup"
  log "$1: ready in ${server}s (${total}s with install)"
}

check_port_free() { # name port
  if port_open "$2"; then
    die "$1: port 127.0.0.1:$2 is already taken by another process ($(port_owner "$2")); stop it first"
  fi
}

# ------------------------------------------------------------------ kafka

KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/logs/server.log"

kafka_pid() { local p; p=$(read_pid "$KAFKA_PID"); pid_alive "$p" && echo "$p" || true; }

kafka_install() {
  if [ -f "$KAFKA_DIR/jars/.complete-$KAFKA_VERSION" ]; then return 0; fi
  ensure_java
  log "kafka: fetching kafka_$SCALA_VERSION:$KAFKA_VERSION and its dependencies from Maven Central"
  mkdir -p "$KAFKA_DIR/pom"
  rm -rf "$KAFKA_DIR/jars"
  # Same logging stack as Kafka's own 3.9 distribution: slf4j 1.7 + reload4j.
  cat >"$KAFKA_DIR/pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>yuqing.local</groupId>
  <artifactId>kafka-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
EOF
  mvn_run "$KAFKA_DIR/mvn.log" -f "$KAFKA_DIR/pom/pom.xml" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_DIR/jars" -DincludeScope=runtime \
    || fail_with_log "kafka: mvn could not fetch org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION from Maven Central" "$KAFKA_DIR/mvn.log"
  [ -f "$KAFKA_DIR/jars/kafka_$SCALA_VERSION-$KAFKA_VERSION.jar" ] \
    || die "kafka: kafka_$SCALA_VERSION-$KAFKA_VERSION.jar missing after mvn"
  touch "$KAFKA_DIR/jars/.complete-$KAFKA_VERSION"
}

kafka_configure() {
  mkdir -p "$KAFKA_DIR/logs" "$KAFKA_DIR/data" "$KAFKA_DIR/probe"
  cat >"$KAFKA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=4
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$KAFKA_LOG
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
EOF
  cat >"$KAFKA_DIR/tools-log4j.properties" <<EOF
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOF
  # Readiness probe: a real Metadata request through the AdminClient.
  cat >"$KAFKA_DIR/probe/Probe.java.new" <<'EOF'
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

public class Probe {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    try (Admin a = Admin.create(p)) {
      int brokers = a.describeCluster().nodes().get().size();
      int topics = a.listTopics().names().get().size();
      if (brokers < 1) { System.err.println("no broker in metadata"); System.exit(1); }
      System.out.println("brokers=" + brokers + " topics=" + topics);
    }
  }
}
EOF
  # Replaced only when it changed, so the compiled probe is reused.
  if cmp -s "$KAFKA_DIR/probe/Probe.java.new" "$KAFKA_DIR/probe/Probe.java"; then
    rm "$KAFKA_DIR/probe/Probe.java.new"
  else
    mv "$KAFKA_DIR/probe/Probe.java.new" "$KAFKA_DIR/probe/Probe.java"
  fi
}

kafka_java() { # java args...
  java -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" -cp "$KAFKA_DIR/jars/*" "$@"
}

kafka_format() {
  if [ -f "$KAFKA_DIR/data/meta.properties" ]; then return 0; fi
  local id
  id=$(kafka_java kafka.tools.StorageTool random-uuid | tail -1)
  log "kafka: formatting storage (cluster id $id)"
  kafka_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/logs/format.log" 2>&1 \
    || fail_with_log "kafka: storage format failed" "$KAFKA_DIR/logs/format.log"
}

kafka_probe() {
  if [ ! -f "$KAFKA_DIR/probe/Probe.class" ] || [ "$KAFKA_DIR/probe/Probe.java" -nt "$KAFKA_DIR/probe/Probe.class" ]; then
    javac -nowarn -d "$KAFKA_DIR/probe" -cp "$KAFKA_DIR/jars/*" "$KAFKA_DIR/probe/Probe.java"
  fi
  java -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
    -cp "$KAFKA_DIR/jars/*:$KAFKA_DIR/probe" Probe "127.0.0.1:$KAFKA_PORT"
}

kafka_start() {
  local t0 t1 pid
  t0=$(now_ms)
  pid=$(kafka_pid)
  if [ -n "$pid" ]; then
    log "kafka: already running (pid $pid)"
    wait_until "$READY_TIMEOUT" "$pid" "$KAFKA_LOG" "kafka" kafka_probe
    return 0
  fi
  kafka_install
  kafka_configure
  kafka_format
  check_port_free kafka "$KAFKA_PORT"
  check_port_free kafka-controller "$KAFKA_CONTROLLER_PORT"
  log "kafka: starting $KAFKA_VERSION (KRaft, broker+controller) on 127.0.0.1:$KAFKA_PORT"
  t1=$(now_ms)
  : >"$KAFKA_DIR/logs/stdout.log"
  nohup setsid java -Xmx512m -Xms512m -server \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
    -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$KAFKA_DIR/jars/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >>"$KAFKA_DIR/logs/stdout.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$KAFKA_PID"
  wait_until "$READY_TIMEOUT" "$pid" "$KAFKA_LOG" "kafka" kafka_probe
  record_startup kafka "$t0" "$t1"
}

kafka_stop() { stop_pid kafka "$KAFKA_PID" 60; }

# ---------------------------------------------------------- elasticsearch

ES_HOME="$ES_DIR/elasticsearch-$ES_VERSION"
ES_PID="$ES_DIR/es.pid"
ES_LOG="$ES_DIR/logs/yuqing.log"
ES_URL="http://127.0.0.1:$ES_HTTP_PORT"

es_pid() { local p; p=$(read_pid "$ES_PID"); pid_alive "$p" && echo "$p" || true; }

es_install() {
  if [ -f "$ES_HOME/.complete" ]; then return 0; fi
  ensure_java
  need_cmd unzip unzip
  local coords="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
  local zip="$M2_REPO/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  log "es: fetching $coords from Maven Central"
  mkdir -p "$ES_DIR"
  mvn_run "$ES_DIR/mvn.log" dependency:get -Dtransitive=false -Dartifact="$coords" \
    || fail_with_log "es: mvn could not fetch $coords from Maven Central" "$ES_DIR/mvn.log"
  [ -f "$zip" ] || die "es: $zip missing after mvn"
  rm -rf "$ES_HOME" "$ES_DIR/unpack"
  mkdir -p "$ES_DIR/unpack"
  unzip -q "$zip" -d "$ES_DIR/unpack"
  mv "$ES_DIR/unpack/elasticsearch-$ES_VERSION" "$ES_HOME"
  rmdir "$ES_DIR/unpack"
  touch "$ES_HOME/.complete"
}

es_user() {
  if ! id "$ES_USER" >/dev/null 2>&1; then
    log "es: creating system user $ES_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
  fi
  # The unprivileged user must reach its files through the repository path.
  if ! runuser -u "$ES_USER" -- test -x "$ES_HOME/bin"; then
    die "es: user $ES_USER cannot reach $ES_HOME (a parent folder is not world-searchable; try: chmod o+x on each parent of $ROOT)"
  fi
}

es_configure() {
  mkdir -p "$ES_DIR/data" "$ES_DIR/logs" "$ES_DIR/tmp"
  local security=""
  # The integ-test zip has no x-pack; only name the setting where it exists.
  if [ -d "$ES_HOME/modules/x-pack-security" ]; then
    security="xpack.security.enabled: false"
  fi
  cat >"$ES_HOME/config/elasticsearch.yml" <<EOF
cluster.name: yuqing
node.name: yuqing-1
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_HTTP_PORT
transport.port: $ES_TRANSPORT_PORT
path.data: $ES_DIR/data
path.logs: $ES_DIR/logs
action.destructive_requires_name: false
$security
EOF
  chown -R "$ES_USER:" "$ES_HOME/config" "$ES_DIR/data" "$ES_DIR/logs" "$ES_DIR/tmp"
  # ES writes its pid file and nothing else into $ES_DIR itself.
  chown "$ES_USER:" "$ES_DIR"
}

es_health() {
  local headers
  headers=$(curl -fsS -m 70 -D - -o /dev/null \
    "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=60s") || return 1
  grep -qi '^X-Elastic-Product: Elasticsearch' <<<"$headers"
}

es_start() {
  local t0 t1 pid
  t0=$(now_ms)
  need_cmd curl curl
  pid=$(es_pid)
  if [ -n "$pid" ]; then
    log "es: already running (pid $pid)"
    wait_until "$READY_TIMEOUT" "$pid" "$ES_LOG" "elasticsearch" es_health
    return 0
  fi
  es_install
  es_user
  es_configure
  check_port_free es "$ES_HTTP_PORT"
  check_port_free es-transport "$ES_TRANSPORT_PORT"
  log "es: starting $ES_VERSION on $ES_URL as $ES_USER"
  t1=$(now_ms)
  rm -f "$ES_PID"
  # -d daemonizes once the node has started; -p writes the server's pid.
  if ! runuser -u "$ES_USER" -- env -i PATH=/usr/bin:/bin HOME=/tmp \
      ES_JAVA_HOME="$(java_home)" ES_JAVA_OPTS="-Xms1g -Xmx1g" ES_TMPDIR="$ES_DIR/tmp" \
      "$ES_HOME/bin/elasticsearch" -d -p "$ES_PID" >"$ES_DIR/logs/launcher.log" 2>&1 </dev/null 9>&-; then
    [ -s "$ES_LOG" ] || ES_LOG="$ES_DIR/logs/launcher.log"
    fail_with_log "elasticsearch did not start (launcher: $ES_DIR/logs/launcher.log)" "$ES_LOG"
  fi
  local i
  for ((i = 0; i < 30; i++)); do pid=$(es_pid); [ -n "$pid" ] && break; sleep 1; done
  [ -n "$pid" ] || fail_with_log "elasticsearch wrote no pid file ($ES_PID)" "$ES_DIR/logs/launcher.log"
  wait_until "$READY_TIMEOUT" "$pid" "$ES_LOG" "elasticsearch" es_health
  record_startup es "$t0" "$t1"
  log "es: pid $pid; responses carry X-Elastic-Product: Elasticsearch (go-elasticsearch product check)"
}

es_stop() { stop_pid elasticsearch "$ES_PID" 60; }

# ------------------------------------------------------------- postgresql

PG_DATA="$PG_DIR/data"
PG_SOCK="$PG_DIR/run"
PG_LOG="$PG_DIR/postgresql.log"

pg_bin() { # newest installed PostgreSQL's bin folder
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
  [ -x "$d/pg_ctl" ] && echo "$d"
}

pg_install() {
  if pg_bin >/dev/null; then return 0; fi
  # Debian's package would create and start its own cluster on 5432; we need none.
  mkdir -p /etc/postgresql-common
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  apt_install postgresql
  pg_bin >/dev/null || die "pg: pg_ctl not found under /usr/lib/postgresql/*/bin after apt-get install postgresql"
}

as_pg() { runuser -u "$PG_USER" -- "$@"; }

pg_pid() { local p; p=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9'); pid_alive "$p" && echo "$p" || true; }

pg_configure() {
  mkdir -p "$PG_DIR" "$PG_SOCK"
  chown "$PG_USER:" "$PG_DIR" "$PG_SOCK"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "pg: initdb $PG_DATA"
    as_pg "$(pg_bin)/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
      || fail_with_log "pg: initdb failed" "$PG_DIR/initdb.log"
    echo "include_if_exists = 'yuqing.conf'" >>"$PG_DATA/postgresql.conf"
  fi
  cat >"$PG_DATA/yuqing.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
fsync = on
max_connections = 200
shared_buffers = 128MB
EOF
  chown "$PG_USER:" "$PG_DATA/yuqing.conf"
}

pg_psql() { # sql
  as_pg "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -tAc "$1"
}

pg_roles() {
  pg_psql "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yuqing') THEN
      CREATE ROLE yuqing LOGIN PASSWORD 'yuqing';
    ELSE
      ALTER ROLE yuqing LOGIN PASSWORD 'yuqing';
    END IF; END \$\$;"
  if [ "$(pg_psql "SELECT 1 FROM pg_database WHERE datname = 'yuqing'")" != 1 ]; then
    pg_psql "CREATE DATABASE yuqing OWNER yuqing"
  fi
}

pg_ready() { # a real login over TCP as the test user
  PGPASSWORD=yuqing "$(pg_bin)/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U yuqing -d yuqing -tAc 'SELECT 1' | grep -qx 1
}

pg_start() {
  local t0 t1 pid
  t0=$(now_ms)
  pid=$(pg_pid)
  if [ -n "$pid" ]; then
    log "pg: already running (pid $pid)"
    pg_roles
    wait_until "$READY_TIMEOUT" "$pid" "$PG_LOG" "postgresql" pg_ready
    return 0
  fi
  pg_install
  pg_configure
  check_port_free pg "$PG_PORT"
  log "pg: starting $("$(pg_bin)/postgres" --version) on 127.0.0.1:$PG_PORT"
  t1=$(now_ms)
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$READY_TIMEOUT" start >/dev/null 9>&- \
    || fail_with_log "postgresql did not start" "$PG_LOG"
  pg_roles
  wait_until "$READY_TIMEOUT" "$(pg_pid)" "$PG_LOG" "postgresql" pg_ready
  record_startup pg "$t0" "$t1"
}

pg_stop() {
  if [ -z "$(pg_pid)" ]; then
    log "postgresql: already stopped"
    return 0
  fi
  log "postgresql: stopping pid $(pg_pid)"
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
  log "postgresql: stopped"
}

# ------------------------------------------------------------------- main

write_env() {
  cat >"$CACHE/env" <<EOF
# Written by deploy/local/services.sh; source it before the integration tests.
export YUQING_KAFKA=127.0.0.1:$KAFKA_PORT
export YUQING_ES=$ES_URL
export YUQING_PG='postgres://yuqing:yuqing@127.0.0.1:$PG_PORT/yuqing?sslmode=disable'
EOF
}

status_line() { # name pid port log
  local name=$1 pid=$2 port=$3 logfile=$4 startup="-"
  [ -f "$CACHE/$name.startup" ] && startup=$(cat "$CACHE/$name.startup")
  if [ -n "$pid" ]; then
    printf '%-6s running  pid=%-8s port=%-6s rss=%-9s last-start: %s\n' "$name" "$pid" "$port" "$(rss_of "$pid")" "$startup"
  else
    printf '%-6s stopped  %-41s last-start: %s\n' "$name" "port=$port" "$startup"
  fi
  printf '       log: %s\n' "$logfile"
}

do_status() {
  local s
  for s in "$@"; do
    case $s in
      kafka) status_line kafka "$(kafka_pid)" "$KAFKA_PORT" "$KAFKA_LOG" ;;
      es) status_line es "$(es_pid)" "$ES_HTTP_PORT" "$ES_LOG" ;;
      pg) status_line pg "$(pg_pid)" "$PG_PORT" "$PG_LOG" ;;
    esac
  done
  [ -f "$CACHE/env" ] && printf 'env: %s\n' "$CACHE/env"
  return 0
}

do_start() {
  local s
  for s in "$@"; do "${s}_start"; done
  write_env
  echo
  echo "services ready; logs:"
  for s in "$@"; do
    case $s in
      kafka) echo "  kafka  127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)  $KAFKA_LOG" ;;
      es) echo "  es     $ES_URL  $ES_LOG" ;;
      pg) echo "  pg     127.0.0.1:$PG_PORT  $PG_LOG" ;;
    esac
  done
  echo "environment ($CACHE/env):"
  grep '^export' "$CACHE/env" | sed 's/^/  /'
}

do_stop() {
  local s
  for s in "$@"; do "${s}_stop"; done
}

usage() { echo "usage: $0 {start|stop|status} [kafka|es|pg ...]" >&2; exit 2; }

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1
  shift
  local services=("$@")
  [ ${#services[@]} -gt 0 ] || services=(kafka es pg)
  local s
  for s in "${services[@]}"; do
    case $s in kafka | es | pg) ;; *) die "unknown service '$s' (kafka, es or pg)" ;; esac
  done
  case $cmd in start | stop | status) ;; *) usage ;; esac

  if [ "$cmd" != status ] && [ "$(id -u)" != 0 ]; then
    die "$cmd must run as root (it installs packages and switches to the users $ES_USER and $PG_USER)"
  fi
  mkdir -p "$CACHE"
  # One start/stop at a time: several test runs may call `make services` at once.
  if [ "$cmd" != status ]; then
    exec 9>"$CACHE/.lock"
    flock -w 600 9 || die "another services.sh is still running (lock $CACHE/.lock)"
  fi
  "do_$cmd" "${services[@]}"
}

main "$@"

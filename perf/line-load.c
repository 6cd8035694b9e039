// line-load: a closed-loop load generator for line protocols, in C, so that
// the server (not the generator) is what a run measures. One thread, epoll.
//
// Opens `connections` connections, keeps `depth` requests in flight on each
// ("<message>\n"), and answers every reply line with a new request; replies
// are counted by their '\n', and a reply that starts with 'E' (an "ERR …"
// line; echoes start with '[') is a failure.
// Latency is from a request's write to its reply's read, recorded after the
// warm-up. Prints one JSON line.
//
// Depth 0 is connection churn: each connection sends one request, and once
// its reply is in, closes and is replaced by a new one; then a "request" is a
// whole connection, its latency from connect() to the reply.
//
// With `--tls ca.pem` every connection speaks TLS (OpenSSL, built with
// -DLINE_LOAD_TLS): a full handshake (no session resumption), the server's
// certificate verified against ca.pem for the name "localhost", then the
// same requests as records. The handshake runs in the same epoll loop
// (non-blocking), so with depth 0 `connections` handshakes are in flight at
// once and the rate is handshakes per second. A connection's requests start
// once its handshake is done.
//
// usage: line-load [--tls ca.pem] host port connections depth seconds warmup_seconds [message]
// build: cc -O2 -o line-load line-load.c
//        cc -O2 -DLINE_LOAD_TLS -o line-load line-load.c -lssl -lcrypto   (needs libssl-dev)
// (perf/run.js --load c builds the second, or the first when OpenSSL's headers are missing.)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef LINE_LOAD_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#else
typedef struct ssl_st SSL; // never created: plain TCP only
#endif

typedef struct {
  int fd;
  SSL *ssl;  // NULL over plain TCP
  int ready; // handshake done (at once over plain TCP)
  uint64_t openedAt;
  int head, inFlight; // ring of send times, oldest at head
  uint64_t *sentAt;
  int atLineStart, inErrorLine;
} connection;

static uint64_t nowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

// Latency buckets: one per microsecond below 100 ms, one per millisecond above (to 100 s).
#define FINE 100000
#define COARSE 100000
static uint64_t buckets[FINE + COARSE + 1];
static size_t bucketOf(uint64_t ns) {
  uint64_t us = ns / 1000;
  if (us < FINE) return (size_t)us;
  uint64_t ms = us / 1000;
  return FINE + (size_t)(ms < COARSE ? ms : COARSE);
}
static double microsOf(size_t bucket) { return bucket < FINE ? (double)bucket : (double)(bucket - FINE) * 1000.0; }

// The transport: plain TCP, or TLS over it when `tls` is set. Each call is
// the plain one (a blocking socket, read only once epoll says it is
// readable) or its OpenSSL twin over a non-blocking one.
#ifdef LINE_LOAD_TLS
static SSL_CTX *tls;

// Waits (at most a second) until `c`'s socket is ready for what OpenSSL asked for.
static int awaitSocket(connection *c, int code) {
  struct pollfd p = {.fd = c->fd, .events = code == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
  return (code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ) && poll(&p, 1, 1000) == 1 ? 0 : -1;
}
#else
static void *tls;
#endif

// Starts the session on a connected socket: 1 ready, 0 handshaking, -1 failed.
static int startSession(connection *c) {
  c->ssl = NULL;
  c->ready = tls == NULL;
#ifdef LINE_LOAD_TLS
  if (tls == NULL) return 1;
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  c->ssl = SSL_new(tls);
  if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 || SSL_set1_host(c->ssl, "localhost") != 1)
    return -1;
  return 0;
#else
  return 1;
#endif
}

// One step of the handshake, when the socket is readable: 1 done, 0 not yet, -1 failed.
static int handshake(connection *c) {
#ifdef LINE_LOAD_TLS
  for (;;) {
    int done = SSL_connect(c->ssl);
    if (done == 1) return c->ready = 1;
    int code = SSL_get_error(c->ssl, done);
    if (code == SSL_ERROR_WANT_READ) return 0;
    if (awaitSocket(c, code) != 0) return -1;
  }
#else
  (void)c;
  return -1;
#endif
}

// Bytes read into `buffer`; -1 when there is nothing to read yet; 0 when the
// server closed or reset the connection.
static ssize_t receive(connection *c, char *buffer, size_t size) {
#ifdef LINE_LOAD_TLS
  if (c->ssl != NULL) {
    int got = SSL_read(c->ssl, buffer, (int)size);
    if (got > 0) return got;
    return SSL_get_error(c->ssl, got) == SSL_ERROR_WANT_READ ? -1 : 0;
  }
#endif
  ssize_t got = read(c->fd, buffer, size);
  return got < 0 && errno == EAGAIN ? -1 : got < 0 ? 0 : got;
}

// Whether a read already holds more (TLS records OpenSSL has read ahead):
// epoll will not say so, the socket having been drained.
static int pending(connection *c) {
#ifdef LINE_LOAD_TLS
  return c->ssl != NULL && SSL_has_pending(c->ssl);
#else
  (void)c;
  return 0;
#endif
}

// Sends all of `data`: 0, or -1 if it could not.
static int sendAll(connection *c, const char *data, size_t length) {
#ifdef LINE_LOAD_TLS
  if (c->ssl != NULL) {
    for (;;) { // without partial writes, SSL_write sends all or nothing; a retry repeats the call
      int sent = SSL_write(c->ssl, data, (int)length);
      if (sent > 0) return 0;
      if (awaitSocket(c, SSL_get_error(c->ssl, sent)) != 0) return -1;
    }
  }
#endif
  return write(c->fd, data, length) == (ssize_t)length ? 0 : -1;
}

static void closeConnection(int poll, connection *c) {
  epoll_ctl(poll, EPOLL_CTL_DEL, c->fd, NULL);
#ifdef LINE_LOAD_TLS
  if (c->ssl != NULL) SSL_free(c->ssl); // no close_notify: a client that goes, as the JS generators' destroy()
#endif
  c->ssl = NULL;
  close(c->fd);
  c->fd = -1;
}

// Connects `c` (blocking: on loopback the TCP handshake is done within the
// call), starts its session and watches it: 1 ready, 0 handshaking, -1 failed.
static int openConnection(int poll, connection *c, const struct sockaddr_in *address) {
  c->openedAt = nowNs();
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)address, sizeof *address) != 0) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->atLineStart = 1;
  c->inErrorLine = 0;
  c->head = 0;
  c->inFlight = 0;
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(poll, EPOLL_CTL_ADD, c->fd, &event);
  int started = startSession(c);
  if (started == 0) started = handshake(c); // sends the ClientHello
  if (started < 0) closeConnection(poll, c);
  return started;
}

static int depth, churn;
static size_t length;
static char *requests;
static uint64_t measureFrom, end, measured;
static int opened, failed;

// A ready connection's first requests: `depth` of them (one when churning,
// whose latency counts from the connect).
static void begin(connection *c, uint64_t now) {
  opened++;
  for (int k = 0; k < depth; k++) c->sentAt[k] = churn ? c->openedAt : now;
  c->inFlight = depth;
  if (sendAll(c, requests, length * (size_t)depth) != 0) failed++;
}

// Replaces a churning connection, and sends its request if it is ready at once (plain TCP).
static void reopen(int poll, connection *c, const struct sockaddr_in *address) {
  int started = openConnection(poll, c, address);
  if (started < 0) failed++;
  if (started == 1) begin(c, c->openedAt);
}

// Counts the reply lines in `data` (recording their latencies): how many ended.
static int countReplies(connection *c, const char *data, ssize_t got, uint64_t now) {
  int replies = 0;
  for (ssize_t p = 0; p < got; p++) {
    if (c->atLineStart && data[p] == 'E') c->inErrorLine = 1;
    c->atLineStart = data[p] == '\n';
    if (!c->atLineStart) continue;
    uint64_t sent = c->sentAt[c->head];
    c->head = (c->head + 1) % depth;
    c->inFlight--;
    replies++;
    if (c->inErrorLine) {
      failed++;
      c->inErrorLine = 0;
    } else if (sent >= measureFrom && now < end) {
      buckets[bucketOf(now - sent)]++;
      measured++;
    }
  }
  return replies;
}

int main(int argc, char **argv) {
  const char *ca = NULL;
  if (argc > 2 && strcmp(argv[1], "--tls") == 0) {
    ca = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc < 7) {
    fprintf(stderr, "usage: line-load [--tls ca.pem] host port connections depth seconds warmup_seconds [message]\n");
    return 2;
  }
  if (ca != NULL) {
#ifdef LINE_LOAD_TLS
    tls = SSL_CTX_new(TLS_client_method());
    if (tls == NULL || SSL_CTX_load_verify_locations(tls, ca, NULL) != 1) {
      fprintf(stderr, "line-load: cannot read the CA certificate %s\n", ca);
      return 2;
    }
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(tls, SSL_SESS_CACHE_OFF); // every connection a full handshake
    SSL_CTX_set_read_ahead(tls, 1);                          // a record in one read(), not a header read and a body read
#else
    fprintf(stderr, "line-load: built without TLS (cc -DLINE_LOAD_TLS … -lssl -lcrypto, with libssl-dev)\n");
    return 2;
#endif
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), count = atoi(argv[3]);
  depth = atoi(argv[4]);
  double seconds = atof(argv[5]), warmup = atof(argv[6]);
  const char *message = argc > 7 ? argv[7] : "hello";
  churn = depth == 0;
  if (churn) depth = 1;
  length = strlen(message) + 1;
  requests = malloc(length * (size_t)depth);
  for (int i = 0; i < depth; i++) {
    memcpy(requests + (size_t)i * length, message, length - 1);
    requests[(size_t)i * length + length - 1] = '\n';
  }

  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
    fprintf(stderr, "line-load: '%s' is not an IPv4 address\n", host);
    return 2;
  }
  int poll = epoll_create1(0);
  connection *connections = calloc((size_t)count, sizeof *connections);
  for (int i = 0; i < count; i++) {
    connection *c = &connections[i];
    c->sentAt = calloc((size_t)depth, sizeof(uint64_t));
    if (openConnection(poll, c, &address) < 0) failed++;
  }
  // The clock starts once every connection is open: 10,000 connects to a server
  // whose backlog is full wait out SYN retries, seconds that are no run's.
  uint64_t start = nowNs();
  measureFrom = start + (uint64_t)(warmup * 1e9);
  end = measureFrom + (uint64_t)(seconds * 1e9);
  for (int i = 0; i < count; i++)
    if (connections[i].fd >= 0 && connections[i].ready) begin(&connections[i], start);

  static char buffer[1 << 16];
  struct epoll_event events[512];
  for (uint64_t now = nowNs(); now < end; now = nowNs()) {
    int ready = epoll_wait(poll, events, 512, 100);
    now = nowNs();
    for (int e = 0; e < ready; e++) {
      connection *c = events[e].data.ptr;
      if (!c->ready) {
        int done = handshake(c);
        if (done == 1) begin(c, now);
        if (done >= 0) continue;
        failed++;
        closeConnection(poll, c);
        if (churn) reopen(poll, c, &address);
        continue;
      }
      int replies = 0;
      do {
        ssize_t got = receive(c, buffer, sizeof buffer);
        if (got < 0) break;
        if (got == 0) { // the server closed or reset the connection
          failed += c->inFlight;
          closeConnection(poll, c);
          break;
        }
        replies += countReplies(c, buffer, got, now);
      } while (pending(c));
      if (replies == 0 || c->fd < 0) continue;
      if (churn) { // the reply is in: close, and connect again at once
        closeConnection(poll, c);
        reopen(poll, c, &address);
        continue;
      }
      for (int q = 0; q < replies; q++) c->sentAt[(c->head + c->inFlight++) % depth] = now;
      if (sendAll(c, requests, length * (size_t)replies) != 0) failed++;
    }
  }

  double sum = 0, p50 = 0, p99 = 0;
  uint64_t seen = 0;
  for (size_t b = 0; b < sizeof buckets / sizeof buckets[0]; b++) {
    if (buckets[b] == 0) continue;
    sum += (double)buckets[b] * microsOf(b);
    seen += buckets[b];
    if (p50 == 0 && seen * 2 >= measured) p50 = microsOf(b);
    if (p99 == 0 && seen * 100 >= measured * 99) p99 = microsOf(b);
  }
  printf("{\"opened\":%d,\"failed\":%d,\"requestsPerSecond\":%.0f,\"latencyUs\":{\"avg\":%.1f,\"p50\":%.1f,\"p99\":%.1f}}\n", opened, failed,
         (double)measured / seconds, measured ? sum / (double)measured : 0, p50, p99);
  return 0;
}

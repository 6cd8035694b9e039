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
// usage: line-load host port connections depth seconds warmup_seconds [message]
// build: cc -O2 -o line-load line-load.c   (perf/run.js --load c does this)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
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

// Connects `c` (blocking: on loopback the handshake is done within the call) and watches it.
static int openConnection(int poll, connection *c, const struct sockaddr_in *address) {
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
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(poll, EPOLL_CTL_ADD, c->fd, &event);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: line-load host port connections depth seconds warmup_seconds [message]\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), count = atoi(argv[3]), depth = atoi(argv[4]);
  double seconds = atof(argv[5]), warmup = atof(argv[6]);
  const char *message = argc > 7 ? argv[7] : "hello";
  int churn = depth == 0;
  if (churn) depth = 1;
  size_t length = strlen(message) + 1;
  char *requests = malloc(length * (size_t)depth);
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
  int opened = 0, failed = 0;
  for (int i = 0; i < count; i++) {
    connection *c = &connections[i];
    c->sentAt = calloc((size_t)depth, sizeof(uint64_t));
    if (openConnection(poll, c, &address) != 0) continue;
    opened++;
  }

  uint64_t start = nowNs();
  uint64_t measureFrom = start + (uint64_t)(warmup * 1e9), end = measureFrom + (uint64_t)(seconds * 1e9);
  for (int i = 0; i < count; i++) {
    connection *c = &connections[i];
    if (c->fd < 0) continue;
    for (int k = 0; k < depth; k++) c->sentAt[k] = start;
    c->inFlight = depth;
    if (write(c->fd, requests, length * (size_t)depth) != (ssize_t)(length * (size_t)depth)) failed++;
  }

  uint64_t measured = 0;
  static char buffer[1 << 16];
  struct epoll_event events[512];
  for (uint64_t now = nowNs(); now < end; now = nowNs()) {
    int ready = epoll_wait(poll, events, 512, 100);
    now = nowNs();
    for (int e = 0; e < ready; e++) {
      connection *c = events[e].data.ptr;
      ssize_t got = read(c->fd, buffer, sizeof buffer);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) { // the server closed or reset the connection
        failed += c->inFlight;
        epoll_ctl(poll, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        continue;
      }
      int replies = 0;
      for (ssize_t p = 0; p < got; p++) {
        if (c->atLineStart && buffer[p] == 'E') c->inErrorLine = 1;
        c->atLineStart = buffer[p] == '\n';
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
      if (replies == 0) continue;
      if (churn) { // the reply is in: close, and connect again at once
        epoll_ctl(poll, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->sentAt[0] = nowNs();
        if (openConnection(poll, c, &address) != 0) {
          failed++;
          continue;
        }
        opened++;
        c->head = 0;
        c->inFlight = 1;
        if (write(c->fd, requests, length) != (ssize_t)length) failed++;
        continue;
      }
      for (int q = 0; q < replies; q++) c->sentAt[(c->head + c->inFlight++) % depth] = now;
      if (write(c->fd, requests, length * (size_t)replies) != (ssize_t)(length * (size_t)replies)) failed++;
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
  printf("{\"opened\":%d,\"failed\":%d,\"requestsPerSecond\":%.0f,\"latencyUs\":{\"avg\":%.1f,\"p50\":%.1f,\"p99\":%.1f}}\n", opened,
         failed + (count - opened), (double)measured / seconds, measured ? sum / (double)measured : 0, p50, p99);
  return 0;
}

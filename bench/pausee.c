/*
 * A process for the benches to pause (bench/pausees.ts): it records when it runs again. Its SIGCONT
 * handler writes "<pid> <CLOCK_MONOTONIC ns>\n" to fd 3, a file opened O_APPEND that all of them
 * share (one write each, so lines never interleave). The handler runs when the process is next on a
 * CPU after the daemon's SIGCONT: the moment a user's paused service would be serving again. This
 * replaced a watcher that polled /proc for a sample of the targets every 2 ms at nice -10, which took
 * CPU from the very daemons it timed and saw only a sample.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *put(char *p, unsigned long long v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n) *p++ = tmp[--n];
  return p;
}

/* only async-signal-safe calls here: clock_gettime, getpid, write */
static void on_cont(int sig) {
  (void)sig;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  char line[48];
  char *p = put(line, (unsigned long long)getpid());
  *p++ = ' ';
  p = put(p, (unsigned long long)t.tv_sec * 1000000000ULL + (unsigned long long)t.tv_nsec);
  *p++ = '\n';
  (void)!write(3, line, (size_t)(p - line));
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_cont;
  sigaction(SIGCONT, &sa, NULL);
  for (;;) pause();
}

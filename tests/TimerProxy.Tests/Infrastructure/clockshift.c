// LD_PRELOAD shim for the clock-jump drill: shifts CLOCK_REALTIME (clock_gettime, gettimeofday, time) by the µs
// in the file named by CLOCKSHIFT_FILE, re-read at most every 10 ms. It calls the kernel directly, so nothing in it
// recurses into itself (libfaketime does, and Debian's redis-server cannot start under it).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long shift_us, checked_at_ns = -1;

static long long mono_ns(void) {
    struct timespec t;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long shift(void) {
    long long now = mono_ns();
    if (checked_at_ns >= 0 && now - checked_at_ns < 10000000LL) return shift_us;
    checked_at_ns = now;
    const char *path = getenv("CLOCKSHIFT_FILE");
    if (!path) return shift_us;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd < 0) return shift_us;
    char buf[32];
    long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n > 0) { buf[n] = 0; shift_us = strtoll(buf, NULL, 10); }
    return shift_us;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int r = (int)syscall(SYS_clock_gettime, clock, ts);
    if (r == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        long long ns = ts->tv_sec * 1000000000LL + ts->tv_nsec + shift() * 1000LL;
        ts->tv_sec = ns / 1000000000LL;
        ts->tv_nsec = ns % 1000000000LL;
    }
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    if (tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    (void)tz;
    return 0;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}

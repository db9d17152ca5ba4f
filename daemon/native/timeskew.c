/*
 * faultline-timeskew: shifts the clock of one running process, and undoes it, without a restart.
 *
 * The way Chaos Mesh's TimeChaos and chaosd do it, written anew for Faultline: stop every thread of the
 * target with ptrace, make the target mmap one page (a `syscall` instruction run at its current
 * instruction pointer, then everything put back), copy into that page code that asks the kernel for the
 * time and adds an offset (timeskew-x86_64.S), and overwrite the entry of the vDSO's clock_gettime,
 * gettimeofday and time with `movabs $page_fn, %rax; jmp *%rax`. The vDSO is the process's own
 * copy-on-write page, so no other process is touched. Recovery writes the original 12 bytes back, and
 * only over a jump into a page that carries our magic word, so it is safe to repeat and never
 * overwrites anything it did not write.
 *
 *   faultline-timeskew probe   PID                      checks what inject needs, without ptrace
 *   faultline-timeskew inject  PID SEC NSEC MASK [UNTIL] prints {"page":..,"until":..,"patches":[{symbol,addr,orig}]}
 *   faultline-timeskew recover PID [page=ADDR] [ADDR=HEX ...]   prints {"restored":N,"unmapped":0|1}
 *
 * SEC/NSEC: the offset as floor seconds and 0 <= nsec < 1e9. MASK: bit n shifts clock id n. UNTIL: the
 * CLOCK_MONOTONIC second at which the shift lapses by itself unless the daemon writes a later one at the
 * printed "until" address, and the same moment in CLOCK_REALTIME seconds 8 bytes after it (a dead-man
 * switch for a daemon that died; 0 or absent = never).
 * page=ADDR: undo only jumps into that page (the one this fault mapped). ADDR=HEX: journaled original
 * bytes per patched address; without them the helper's own vDSO (same kernel, same image) gives them.
 *
 * Exit status: 0 done, 2 usage, 3 cannot work on this target (the daemon answers 422 with stderr),
 * 4 the target is gone, 1 anything else. Messages go to stderr, one line.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "faultline-timeskew supports x86-64 only"
#endif

#define EXIT_USAGE 2
#define EXIT_CANNOT 3
#define EXIT_GONE 4

#define JUMP_LEN 12
#define PAGE 4096
#define MAX_THREADS 4096
#define MAX_PATCHES 3

extern const unsigned char fl_blob_start[], fl_blob_end[];
extern const unsigned char fl_var_mask[], fl_var_sec[], fl_var_nsec[], fl_var_usec[], fl_var_until[];
extern const unsigned char fl_fake_clock_gettime[], fl_fake_gettimeofday[], fl_fake_time[];

static const char MAGIC[8] = {'F', 'L', 'T', 'S', 'K', 'E', 'W', '1'};

static pid_t target;
static int memfd = -1;

/* Threads we hold: tid and a signal that stopped it, to hand back at detach. */
static struct {
  pid_t tid;
  int sig;
} threads[MAX_THREADS];
static int nthreads;

static void detach_all(void);

/*
 * While the target's code or registers are half changed (a `syscall` written at its rip, a jump half
 * written), a SIGTERM (the daemon's timeout) must not end us: held from here to the end of the change.
 * Outside those sections dying is harmless: PTRACE_SEIZE sent no SIGSTOP, so the threads run on.
 */
static void hold_signals(int on) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(on ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  detach_all();
  exit(code);
}

static int alive(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", target);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* --- memory of the target, through /proc/PID/mem (works on read-only text for a ptrace-capable root) */

static void mem_open(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", target);
  memfd = open(path, O_RDWR | O_CLOEXEC);
  if (memfd < 0) {
    if (errno == ENOENT || errno == ESRCH) die(EXIT_GONE, "process %d is gone", target);
    die(EXIT_CANNOT, "cannot open %s: %s (ptrace access denied?)", path, strerror(errno));
  }
}

static int mem_read(uint64_t addr, void *buf, size_t len) {
  return pread(memfd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

static int mem_write(uint64_t addr, const void *buf, size_t len) {
  return pwrite(memfd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

/* --- the vDSO: where it is mapped, and where its time functions start */

struct vdso_fn {
  const char *name;   /* as the vDSO exports it */
  const char *label;  /* as the journal names it */
  const unsigned char *fake;
  int required;
  uint64_t addr;      /* in the target */
  uint64_t offset;    /* from the start of the vDSO image */
  uint64_t size;
};

static struct vdso_fn fns[MAX_PATCHES] = {
  {"__vdso_clock_gettime", "clock_gettime", fl_fake_clock_gettime, 1, 0, 0, 0},
  {"__vdso_gettimeofday", "gettimeofday", fl_fake_gettimeofday, 0, 0, 0, 0},
  {"__vdso_time", "time", fl_fake_time, 0, 0, 0, 0},
};

static int find_vdso(pid_t pid, uint64_t *start, uint64_t *end) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -2;
  int found = -1;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "[vdso]")) {
      unsigned long s, e;
      if (sscanf(line, "%lx-%lx", &s, &e) == 2) {
        *start = s;
        *end = e;
        found = 0;
      }
      break;
    }
  }
  fclose(f);
  return found;
}

/* Fills offset/size of each function from the ELF image of a vDSO (any copy of it). */
static const char *parse_vdso(const unsigned char *img, size_t len) {
  if (len < sizeof(Elf64_Ehdr)) return "the vDSO is too small to be an ELF image";
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) return "the vDSO is not an ELF image";
  if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) return "not a 64-bit x86 process (its vDSO is not x86-64)";
  uint64_t load = 0;
  int have_load = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    uint64_t at = eh->e_phoff + (uint64_t)i * eh->e_phentsize;
    if (at + sizeof(Elf64_Phdr) > len) return "the vDSO program headers are cut off";
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + at);
    if (ph->p_type == PT_LOAD) {
      load = ph->p_vaddr - ph->p_offset;
      have_load = 1;
      break;
    }
  }
  if (!have_load) return "the vDSO has no PT_LOAD segment";
  if (eh->e_shoff == 0 || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len) return "the vDSO has no section headers";
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_DYNSYM) continue;
    if (sh[i].sh_link >= eh->e_shnum) return "the vDSO symbol table has no string table";
    const Elf64_Shdr *str = &sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > len || str->sh_offset + str->sh_size > len) return "the vDSO symbol table is cut off";
    const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
    size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t k = 0; k < n; k++) {
      if (sym[k].st_name >= str->sh_size || sym[k].st_shndx == SHN_UNDEF) continue;
      const char *name = (const char *)(img + str->sh_offset + sym[k].st_name);
      size_t room = str->sh_size - sym[k].st_name;
      for (int f = 0; f < MAX_PATCHES; f++) {
        if (strnlen(name, room) == strlen(fns[f].name) && strcmp(name, fns[f].name) == 0) {
          fns[f].offset = sym[k].st_value - load;
          fns[f].size = sym[k].st_size;
        }
      }
    }
    return NULL;
  }
  return "the vDSO has no dynamic symbol table";
}

/* Reads the target's vDSO and locates the functions in it. */
static void locate(uint64_t *vstart) {
  uint64_t start, end;
  int r = find_vdso(target, &start, &end);
  if (r == -2) die(EXIT_GONE, "process %d is gone", target);
  if (r < 0) die(EXIT_CANNOT, "process %d has no vDSO mapped, so its clock calls cannot be redirected", target);
  size_t len = end - start;
  if (len > 64 * PAGE) die(EXIT_CANNOT, "the vDSO of process %d is unexpectedly large (%zu bytes)", target, len);
  unsigned char *img = malloc(len);
  if (!img) die(1, "out of memory");
  if (mem_read(start, img, len) != 0) die(alive() ? EXIT_CANNOT : EXIT_GONE, "cannot read the vDSO of process %d: %s", target, strerror(errno));
  const char *err = parse_vdso(img, len);
  free(img);
  if (err) die(EXIT_CANNOT, "%s", err);
  for (int f = 0; f < MAX_PATCHES; f++) {
    if (fns[f].size == 0 && fns[f].offset == 0) continue;
    if (fns[f].offset + JUMP_LEN > len) die(EXIT_CANNOT, "%s lies outside the vDSO", fns[f].name);
    fns[f].addr = start + fns[f].offset;
  }
  if (!fns[0].addr) die(EXIT_CANNOT, "the vDSO of process %d exports no %s", target, fns[0].name);
  *vstart = start;
}

/*
 * A statically linked program reads the clock through the vDSO only if its runtime looks the vDSO up by
 * name (glibc, musl and Go all carry the string "__vdso_clock_gettime"); one that does not makes plain
 * system calls, which no jump in the vDSO can reach. Dynamically linked programs get it from libc.
 */
static void check_exe(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", target);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return; /* unreadable exe (deleted, or a kernel thread): let the vDSO checks decide */
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    close(fd);
    return;
  }
  for (int i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != (ssize_t)sizeof ph) break;
    if (ph.p_type == PT_INTERP) {
      close(fd);
      return;
    }
  }
  static const char needle[] = "__vdso_clock_gettime";
  const size_t nlen = sizeof needle - 1;
  static char buf[1 << 16];
  size_t keep = 0;
  off_t at = 0;
  for (;;) {
    ssize_t n = pread(fd, buf + keep, sizeof buf - keep, at);
    if (n <= 0) break;
    at += n;
    size_t have = keep + (size_t)n;
    if (memmem(buf, have, needle, nlen)) {
      close(fd);
      return;
    }
    keep = have < nlen - 1 ? have : nlen - 1;
    memmove(buf, buf + have - keep, keep);
  }
  close(fd);
  die(EXIT_CANNOT, "process %d runs a statically linked program that never calls the vDSO's clock_gettime (its clock reads are plain system calls, which cannot be redirected)", target);
}

/* --- stopping and resuming every thread */

static int held(pid_t tid) {
  for (int i = 0; i < nthreads; i++)
    if (threads[i].tid == tid) return 1;
  return 0;
}

/* TracerPid from /proc/PID/status: 0 when nobody traces the process. */
static long tracer_of(void) {
  char status[64], line[256];
  long tracer = 0;
  snprintf(status, sizeof status, "/proc/%d/status", target);
  FILE *f = fopen(status, "r");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "TracerPid: %ld", &tracer) == 1) break;
    fclose(f);
  }
  return tracer;
}

static void ptrace_denied(int err) {
  char scope[16] = "";
  FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
  if (f) {
    if (!fgets(scope, sizeof scope, f)) scope[0] = 0;
    fclose(f);
    scope[strcspn(scope, "\n")] = 0;
  }
  long tracer = tracer_of();
  if (tracer > 0) die(EXIT_CANNOT, "ptrace denied: process %d is already traced by pid %ld (a debugger or another tracer)", target, tracer);
  die(EXIT_CANNOT, "ptrace denied on process %d: %s%s%s%s", target, strerror(err),
      scope[0] ? " (kernel.yama.ptrace_scope=" : "", scope, scope[0] ? ")" : "");
}

/* Waits for a thread's stop; remembers a signal that stopped it instead of our interrupt. */
static int wait_stop(int slot) {
  for (;;) {
    int st;
    pid_t r = waitpid(threads[slot].tid, &st, __WALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) return -1;
    if (!WIFSTOPPED(st)) continue;
    if ((st >> 16) == PTRACE_EVENT_STOP) return 0;
    /* a signal-delivery-stop: the thread is stopped too; the signal goes back at detach */
    threads[slot].sig = WSTOPSIG(st);
    return 0;
  }
}

/* Seizes every thread until a pass over /proc/PID/task finds none new (threads may spawn meanwhile). */
static void attach_all(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", target);
  for (int pass = 0; pass < 100; pass++) {
    DIR *d = opendir(path);
    if (!d) die(EXIT_GONE, "process %d is gone", target);
    int fresh = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      pid_t tid = (pid_t)atoi(e->d_name);
      if (tid <= 0 || held(tid)) continue;
      if (nthreads == MAX_THREADS) {
        closedir(d);
        die(EXIT_CANNOT, "process %d has more than %d threads", target, MAX_THREADS);
      }
      if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
        if (errno == ESRCH) continue; /* the thread ended meanwhile */
        int err = errno;
        closedir(d);
        ptrace_denied(err);
      }
      threads[nthreads].tid = tid;
      threads[nthreads].sig = 0;
      nthreads++;
      fresh = 1;
      if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 || wait_stop(nthreads - 1) != 0) nthreads--; /* ended */
    }
    closedir(d);
    if (!fresh) {
      if (nthreads == 0) die(EXIT_GONE, "process %d is gone", target);
      return;
    }
  }
  die(EXIT_CANNOT, "process %d keeps starting threads; could not stop them all", target);
}

static void detach_all(void) {
  for (int i = 0; i < nthreads; i++) ptrace(PTRACE_DETACH, threads[i].tid, 0, (void *)(long)threads[i].sig);
  nthreads = 0;
}

/* Whether any thread's next instruction lies strictly inside [lo, hi): resuming it there would break. */
static int thread_inside(uint64_t lo, uint64_t hi) {
  for (int i = 0; i < nthreads; i++) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, threads[i].tid, 0, &r) != 0) continue;
    if (r.rip > lo && r.rip < hi) return 1;
  }
  return 0;
}

/* --- a system call run by the target: `syscall` written at its rip, one single step, all put back */

static long remote_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  pid_t tid = threads[0].tid;
  struct user_regs_struct saved, r;
  if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0) die(1, "PTRACE_GETREGS: %s", strerror(errno));
  errno = 0;
  long word = ptrace(PTRACE_PEEKTEXT, tid, (void *)saved.rip, 0);
  if (errno) die(1, "cannot read the code at the target's instruction pointer: %s", strerror(errno));
  long patched = (word & ~0xffffL) | 0x050f; /* syscall */
  hold_signals(1);
  r = saved;
  r.rax = (unsigned long)nr;
  r.rdi = (unsigned long)a1;
  r.rsi = (unsigned long)a2;
  r.rdx = (unsigned long)a3;
  r.r10 = (unsigned long)a4;
  r.r8 = (unsigned long)a5;
  r.r9 = (unsigned long)a6;
  r.orig_rax = (unsigned long)-1; /* no syscall restart for what we run; the saved regs keep theirs */
  if (ptrace(PTRACE_POKETEXT, tid, (void *)saved.rip, (void *)patched) != 0) die(1, "cannot write the syscall instruction: %s", strerror(errno));
  if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0) {
    ptrace(PTRACE_POKETEXT, tid, (void *)saved.rip, (void *)word);
    die(1, "PTRACE_SETREGS: %s", strerror(errno));
  }
  long ret = -ENOSYS;
  for (int tries = 0; tries < 16; tries++) {
    if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0) break;
    int st;
    if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st)) break;
    struct user_regs_struct now;
    if (ptrace(PTRACE_GETREGS, tid, 0, &now) != 0) break;
    if (now.rip == saved.rip + 2) {
      ret = (long)now.rax;
      break;
    }
    /* stopped for a signal before the instruction ran: keep the signal for detach, step again */
    if (WSTOPSIG(st) != SIGTRAP) threads[0].sig = WSTOPSIG(st);
  }
  ptrace(PTRACE_POKETEXT, tid, (void *)saved.rip, (void *)word);
  ptrace(PTRACE_SETREGS, tid, 0, &saved);
  hold_signals(0);
  return ret;
}

/* --- the jump: movabs $dest, %rax; jmp *%rax */

static void make_jump(unsigned char out[JUMP_LEN], uint64_t dest) {
  out[0] = 0x48;
  out[1] = 0xb8;
  memcpy(out + 2, &dest, 8);
  out[10] = 0xff;
  out[11] = 0xe0;
}

/* The page a jump of ours points into, or 0 when the bytes are not our jump. */
static uint64_t our_page(const unsigned char code[JUMP_LEN]) {
  if (code[0] != 0x48 || code[1] != 0xb8 || code[10] != 0xff || code[11] != 0xe0) return 0;
  uint64_t dest;
  memcpy(&dest, code + 2, 8);
  uint64_t page = dest & ~(uint64_t)(PAGE - 1);
  char magic[8];
  if (mem_read(page, magic, 8) != 0 || memcmp(magic, MAGIC, 8) != 0) return 0;
  return page;
}

static void hex(const unsigned char *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex(const char *s, unsigned char *out, size_t n) {
  if (strlen(s) != 2 * n) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (unsigned char)v;
  }
  return 0;
}

static pid_t parse_pid(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0 || v <= 1 || v > 4194304) {
    fprintf(stderr, "bad pid: %s\n", s);
    exit(EXIT_USAGE);
  }
  return (pid_t)v;
}

/* Stops all threads, at a moment when none is inside the bytes we are about to rewrite. */
static void hold_quiet(void) {
  for (int attempt = 0; attempt < 50; attempt++) {
    attach_all();
    int busy = 0;
    for (int f = 0; f < MAX_PATCHES; f++)
      if (fns[f].addr && thread_inside(fns[f].addr, fns[f].addr + JUMP_LEN)) busy = 1;
    if (!busy) return;
    detach_all();
    usleep(2000);
  }
  die(EXIT_CANNOT, "a thread of process %d stays inside a vDSO clock function entry; try again", target);
}

static int cmd_probe(void) {
  uint64_t start;
  mem_open();
  locate(&start);
  check_exe();
  long tracer = tracer_of();
  if (tracer > 0) die(EXIT_CANNOT, "ptrace denied: process %d is already traced by pid %ld (a debugger or another tracer)", target, tracer);
  printf("{\"vdso\":\"0x%" PRIx64 "\",\"symbols\":[", start);
  int first = 1;
  for (int f = 0; f < MAX_PATCHES; f++) {
    if (!fns[f].addr) continue;
    printf("%s\"%s\"", first ? "" : ",", fns[f].label);
    first = 0;
  }
  printf("]}\n");
  return 0;
}

static int cmd_inject(int64_t sec, int64_t nsec, uint64_t mask, uint64_t until) {
  uint64_t start;
  mem_open();
  locate(&start);
  check_exe();
  hold_quiet();
  unsigned char orig[MAX_PATCHES][JUMP_LEN];
  for (int f = 0; f < MAX_PATCHES; f++) {
    if (!fns[f].addr) continue;
    if (mem_read(fns[f].addr, orig[f], JUMP_LEN) != 0) die(EXIT_GONE, "cannot read the vDSO of process %d", target);
    if (our_page(orig[f])) die(EXIT_CANNOT, "process %d is already time-skewed (another time-skew fault holds it)", target);
    if (fns[f].size && fns[f].size < JUMP_LEN) die(EXIT_CANNOT, "%s in the vDSO is %" PRIu64 " bytes, too short for the jump", fns[f].name, fns[f].size);
  }
  long page = remote_syscall(SYS_mmap, 0, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page < 0 && page > -4096) die(EXIT_CANNOT, "mmap in process %d failed: %s", target, strerror((int)-page));
  size_t blob = (size_t)(fl_blob_end - fl_blob_start);
  unsigned char code[PAGE];
  memset(code, 0xcc, sizeof code);
  memcpy(code, fl_blob_start, blob);
  int64_t usec = nsec / 1000;
  memcpy(code + (fl_var_mask - fl_blob_start), &mask, 8);
  memcpy(code + (fl_var_sec - fl_blob_start), &sec, 8);
  memcpy(code + (fl_var_nsec - fl_blob_start), &nsec, 8);
  memcpy(code + (fl_var_usec - fl_blob_start), &usec, 8);
  memcpy(code + (fl_var_until - fl_blob_start), &until, 8);
  if (until) {
    /* the same deadline on the wall clock, so realtime reads need no second system call to check it */
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    int64_t until_real = (int64_t)real.tv_sec + ((int64_t)until - (int64_t)mono.tv_sec);
    memcpy(code + (fl_var_until - fl_blob_start) + 8, &until_real, 8);
  }
  if (mem_write((uint64_t)page, code, PAGE) != 0) die(1, "cannot write the page in process %d: %s", target, strerror(errno));
  hold_signals(1);
  printf("{\"page\":\"0x%lx\",\"until\":\"0x%lx\",\"vdso\":\"0x%" PRIx64 "\",\"patches\":[", page, page + (long)(fl_var_until - fl_blob_start), start);
  int first = 1;
  for (int f = 0; f < MAX_PATCHES; f++) {
    if (!fns[f].addr) continue;
    unsigned char jump[JUMP_LEN];
    make_jump(jump, (uint64_t)page + (uint64_t)(fns[f].fake - fl_blob_start));
    if (mem_write(fns[f].addr, jump, JUMP_LEN) != 0) die(1, "cannot patch %s in process %d: %s", fns[f].name, target, strerror(errno));
    char h[2 * JUMP_LEN + 1];
    hex(orig[f], JUMP_LEN, h);
    printf("%s{\"symbol\":\"%s\",\"addr\":\"0x%" PRIx64 "\",\"orig\":\"%s\"}", first ? "" : ",", fns[f].label, fns[f].addr, h);
    first = 0;
  }
  printf("]}\n");
  fflush(stdout);
  detach_all();
  hold_signals(0);
  return 0;
}

/* The original entry bytes from this helper's own vDSO: the kernel maps the same image into every process. */
static int own_original(const struct vdso_fn *fn, unsigned char out[JUMP_LEN]) {
  const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
  if (!base) return -1;
  memcpy(out, base + fn->offset, JUMP_LEN);
  return 0;
}

static int cmd_recover(int argc, char **argv) {
  uint64_t start, only = 0;
  for (int a = 0; a < argc; a++)
    if (strncmp(argv[a], "page=", 5) == 0) only = strtoull(argv[a] + 5, NULL, 16);
  mem_open();
  locate(&start);
  hold_quiet();
  int restored = 0;
  uint64_t page = 0;
  for (int f = 0; f < MAX_PATCHES; f++) {
    if (!fns[f].addr) continue;
    unsigned char now[JUMP_LEN], orig[JUMP_LEN];
    if (mem_read(fns[f].addr, now, JUMP_LEN) != 0) die(alive() ? 1 : EXIT_GONE, "cannot read the vDSO of process %d", target);
    uint64_t p = our_page(now);
    if (!p) continue; /* not ours (never patched, or already restored) */
    if (only && p != only) continue; /* another fault's page: not this recovery's to undo */
    int have = 0;
    for (int a = 0; a < argc && !have; a++) {
      char *eq = strchr(argv[a], '=');
      if (!eq) continue;
      if (strtoull(argv[a], NULL, 16) == fns[f].addr && unhex(eq + 1, orig, JUMP_LEN) == 0 && !our_page(orig)) have = 1;
    }
    if (!have && own_original(&fns[f], orig) != 0) die(1, "no original bytes for %s", fns[f].name);
    hold_signals(1);
    if (mem_write(fns[f].addr, orig, JUMP_LEN) != 0) die(1, "cannot restore %s in process %d: %s", fns[f].name, target, strerror(errno));
    hold_signals(0);
    restored++;
    page = p;
  }
  /* The page can go once no thread executes in it: its functions are leaves, so rip is the only trace. */
  int unmapped = 0;
  if (page && !thread_inside(page - 1, page + PAGE)) unmapped = remote_syscall(SYS_munmap, (long)page, PAGE, 0, 0, 0, 0) == 0;
  printf("{\"restored\":%d,\"unmapped\":%d}\n", restored, unmapped);
  fflush(stdout);
  detach_all();
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: faultline-timeskew probe PID | inject PID SEC NSEC MASK [UNTIL] | recover PID [page=ADDR] [ADDR=HEX ...]\n");
    return EXIT_USAGE;
  }
  /* a helper killed mid-way leaves PTRACE_SEIZEd threads running (no SIGSTOP was ever sent) */
  signal(SIGPIPE, SIG_IGN);
  target = parse_pid(argv[2]);
  if (strcmp(argv[1], "probe") == 0 && argc == 3) return cmd_probe();
  if (strcmp(argv[1], "inject") == 0 && (argc == 6 || argc == 7)) {
    char *e1, *e2, *e3, *e4 = (char *)"";
    long long sec = strtoll(argv[3], &e1, 10);
    long long nsec = strtoll(argv[4], &e2, 10);
    unsigned long long mask = strtoull(argv[5], &e3, 10);
    unsigned long long until = argc == 7 ? strtoull(argv[6], &e4, 10) : 0;
    if (*e1 || *e2 || *e3 || *e4 || nsec < 0 || nsec >= 1000000000LL || mask == 0) {
      fprintf(stderr, "bad offset, mask or until\n");
      return EXIT_USAGE;
    }
    return cmd_inject(sec, nsec, mask, until);
  }
  if (strcmp(argv[1], "recover") == 0) return cmd_recover(argc - 3, argv + 3);
  fprintf(stderr, "unknown command or wrong arguments: %s\n", argv[1]);
  return EXIT_USAGE;
}

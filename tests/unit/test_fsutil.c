/* test_fsutil.c - temporary files of atomic writes (src/core/fsutil.c): their name carries this
 * host's key and the writer's pid; creating one removes, with a note, the temporaries in the
 * directory whose writer on this host is dead, and keeps those of a live writer (this process,
 * a running child), of another host, in the older pid-only pattern, and names that only look
 * similar. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s2s/fsutil.h"
#include "scratch.h"

static char dir[256];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "fsutil"), 0, "mkdtemp of a scratch directory");
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(fsutil, .init = setup, .fini = teardown);

/* Creates dir/name (empty) and returns its path in buf. */
static const char *plant(char *buf, size_t n, const char *name)
{
    scratch_path(buf, n, dir, name);
    cr_assert_eq(scratch_write(buf, ""), 0, "create %s", buf);
    return buf;
}

/* dir/ckpt.h5.tmp.<this host>.<pid>.7 into buf. */
static const char *temp_of(char *buf, size_t n, long pid)
{
    char name[128];
    snprintf(name, sizeof name, "ckpt.h5.tmp.%s.%ld.7", fs_temp_host(), pid);
    return plant(buf, n, name);
}

/* The pid of a child that has exited and been reaped: no process has it (until reused, which
 * would only keep its file). */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork");
    if (pid == 0)
        _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid, "waitpid");
    return pid;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* fs_create_temp for dir/ckpt.h5; the new file is removed again. */
static void create_temp(char *tmp, size_t n)
{
    char target[512];
    int fd = fs_create_temp(scratch_path(target, sizeof target, dir, "ckpt.h5"), tmp, n);
    cr_assert_geq(fd, 0, "fs_create_temp");
    close(fd);
    unlink(tmp);
}

Test(fsutil, temp_name_carries_host_and_pid)
{
    char tmp[600], want[600];
    create_temp(tmp, sizeof tmp);
    snprintf(want, sizeof want, "%s/ckpt.h5.tmp.%s.%ld.", dir, fs_temp_host(), (long)getpid());
    cr_expect_eq(strncmp(tmp, want, strlen(want)), 0, "temporary %s does not begin with %s", tmp,
                 want);
    cr_expect_eq(strlen(fs_temp_host()), 12, "host key %s", fs_temp_host());
    cr_expect_str_eq(fs_temp_host(), fs_temp_host());
}

Test(fsutil, a_dead_writers_temporary_is_removed)
{
    char stale[512], stale2[512], tmp[600];
    temp_of(stale, sizeof stale, dead_pid());
    char name[128];
    snprintf(name, sizeof name, "vocab.src.vocab.tmp.%s.%ld.12345", fs_temp_host(),
             (long)dead_pid());
    plant(stale2, sizeof stale2, name);
    create_temp(tmp, sizeof tmp);
    cr_expect(!exists(stale), "%s of a dead writer was kept", stale);
    cr_expect(!exists(stale2), "%s of a dead writer was kept", stale2);
    cr_expect_eq(scratch_count(dir, ""), 0, "files left in %s", dir);
}

Test(fsutil, live_writers_and_other_names_are_kept)
{
    pid_t child = fork();
    cr_assert_geq(child, 0, "fork");
    if (child == 0) {
        pause();
        _exit(0);
    }
    char mine[512], live[512], host[512], old[512], odd[512], odd2[512], tmp[600], name[160];
    temp_of(mine, sizeof mine, (long)getpid());
    temp_of(live, sizeof live, (long)child);
    pid_t gone = dead_pid();
    snprintf(name, sizeof name, "ckpt.h5.tmp.0123456789ab.%ld.7", (long)gone); /* another host */
    if (!strcmp(fs_temp_host(), "0123456789ab"))
        name[13] = 'c';
    plant(host, sizeof host, name);
    snprintf(name, sizeof name, "ckpt.h5.tmp.%ld.77", (long)gone); /* the older pattern */
    plant(old, sizeof old, name);
    snprintf(name, sizeof name, "ckpt.h5.tmp.%s.%ld.7x", fs_temp_host(), (long)gone);
    plant(odd, sizeof odd, name);
    snprintf(name, sizeof name, ".tmp.%s.%ld.7", fs_temp_host(), (long)gone); /* no target */
    plant(odd2, sizeof odd2, name);
    create_temp(tmp, sizeof tmp);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cr_expect(exists(mine), "this process's own temporary %s was removed", mine);
    cr_expect(exists(live), "a live writer's temporary %s was removed", live);
    cr_expect(exists(host), "another host's temporary %s was removed", host);
    cr_expect(exists(old), "%s (no host in the name) was removed", old);
    cr_expect(exists(odd), "%s (not the pattern) was removed", odd);
    cr_expect(exists(odd2), "%s (not the pattern) was removed", odd2);
}

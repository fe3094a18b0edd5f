/* SPDX-License-Identifier: BSD-3-Clause */
/* ssh_config(5) and xssh_options (capi/src/config.c): the public API, its errors,
 * what is read and in which order. The option-by-option comparison with OpenSSH's
 * `ssh -G` is tests/config (ctest config_ssh_G). No server needed: every test
 * builds a scratch home ($HOME) of its own. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xssh.h>
#include <xssh/connect.h>

static char home[256];

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* a scratch home with ~/.ssh; $HOME points at it */
static void scratch_home(void)
{
    snprintf(home, sizeof home, "/tmp/xssh-test-config-XXXXXX");
    cr_assert_not_null(mkdtemp(home));
    char p[512];
    snprintf(p, sizeof p, "%s/.ssh", home);
    cr_assert_eq(mkdir(p, 0700), 0);
    setenv("HOME", home, 1);
}

static void rm_home(void)
{
    if (home[0]) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", home);
    }
}

TestSuite(config, .init = scratch_home, .fini = rm_home);

static xssh_options *new_opts(void)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK);
    cr_assert_not_null(o);
    return o;
}

/* resolve and return the text (caller frees) */
static char *resolve(xssh_options *o, const char *host)
{
    char *t = NULL;
    int rc = xssh_options_resolve(o, host, &t);
    cr_assert_eq(rc, XSSH_OK, "resolve %s: %d %s", host, rc, xssh_error_last()->message);
    cr_assert_not_null(t);
    return t;
}

/* the value of "keyword value" in t (first one), or NULL; static buffer */
static const char *val(const char *t, const char *kw)
{
    static __thread char buf[4096]; /* per thread: the threads test calls it concurrently */
    size_t kl = strlen(kw);
    for (const char *p = t; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > kl && strncmp(p, kw, kl) == 0 && p[kl] == ' ') {
            snprintf(buf, sizeof buf, "%.*s", (int)(l - kl - 1), p + kl + 1);
            return buf;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

static void expect_error(int rc, int code, const char *needle)
{
    cr_assert_eq(rc, code, "rc %d, want %d (%s)", rc, code, xssh_error_last()->message);
    cr_assert_eq(xssh_error_last()->code, code);
    if (needle)
        cr_assert(strstr(xssh_error_last()->message, needle) != NULL, "message '%s' lacks '%s'",
                  xssh_error_last()->message, needle);
}

Test(config, new_ref_unref_null_safe)
{
    expect_error(xssh_options_new(NULL), XSSH_EARG, "out");
    xssh_options_unref(NULL);
    cr_assert_null(xssh_options_ref(NULL));
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_ref(o), o);
    xssh_options_unref(o);
    xssh_options_unref(o);
}

Test(config, bad_arguments)
{
    xssh_options *o = new_opts();
    char *t = (char *)"untouched";
    expect_error(xssh_options_set(NULL, "Port", "22"), XSSH_EARG, "options");
    expect_error(xssh_options_set(o, NULL, "22"), XSSH_EARG, "name");
    expect_error(xssh_options_set(o, "Port", NULL), XSSH_EARG, "value");
    expect_error(xssh_options_set(o, "", "22"), XSSH_EARG, "name");
    expect_error(xssh_options_set(o, "Port 22", "x"), XSSH_EARG, "not an option name");
    expect_error(xssh_options_set_config_text(o, NULL, NULL), XSSH_EARG, "text");
    expect_error(xssh_options_set_config_text(NULL, "", NULL), XSSH_EARG, "options");
    expect_error(xssh_options_set_passphrase_cb(NULL, NULL, NULL), XSSH_EARG, "options");
    expect_error(xssh_options_set_prompt_cb(NULL, NULL, NULL), XSSH_EARG, "options");
    expect_error(xssh_options_resolve(o, NULL, &t), XSSH_EARG, "host");
    cr_assert_null(t);
    expect_error(xssh_options_resolve(o, "", &t), XSSH_EARG, "host");
    expect_error(xssh_options_resolve(o, "h", NULL), XSSH_EARG, "out");
    expect_error(xssh_options_resolve(o, "@h", &t), XSSH_EARG, "'@'");
    expect_error(xssh_options_resolve(o, "u@", &t), XSSH_EARG, "host 'u@': empty host name"); /* xssh_host_parse's words, as the multi's */
    xssh_options_unref(o);
}

Test(config, set_validates_like_ssh_o)
{
    xssh_options *o = new_opts();
    expect_error(xssh_options_set(o, "NoSuchOption", "1"), XSSH_EARG, "unknown option 'NoSuchOption'");
    expect_error(xssh_options_set(o, "Port", "x"), XSSH_EARG, "Port: 'x': Bad port 'x'");
    expect_error(xssh_options_set(o, "Port", "70000"), XSSH_EARG, "Bad port");
    expect_error(xssh_options_set(o, "StrictHostKeyChecking", "sometimes"), XSSH_EARG, "unsupported option");
    expect_error(xssh_options_set(o, "Ciphers", "rot13"), XSSH_EARG, "Bad SSH2 cipher spec");
    expect_error(xssh_options_set(o, "ConnectTimeout", "5x"), XSSH_EARG, "invalid time value");
    expect_error(xssh_options_set(o, "Host", "a"), XSSH_EARG, "not supported as a command-line option");
    expect_error(xssh_options_set(o, "Include", "/etc/ssh/ssh_config"), XSSH_EARG, "command-line");
    expect_error(xssh_options_set(o, "Port", "22 23"), XSSH_EARG, "extra arguments");
    expect_error(xssh_options_set(o, "User", "a\nHost *"), XSSH_EARG, "line break");
    expect_error(xssh_options_set(o, "Timeout", "soon"), XSSH_EARG, "Timeout");
    expect_error(xssh_options_set(o, "Timeout", "-1"), XSSH_EARG, "Timeout");
    expect_error(xssh_options_set(o, "ConfigFile", ""), XSSH_EARG, "ConfigFile");
    /* nothing of the refused values was kept */
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    char *t = resolve(o, "h");
    cr_assert_str_eq(val(t, "port"), "22");
    cr_assert_str_eq(val(t, "stricthostkeychecking"), "ask");
    xssh_free(t);
    /* case-insensitive names, keyword=value forms and services as ssh */
    cr_assert_eq(xssh_options_set(o, "pOrT", "ssh"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Timeout", "2.5"), XSSH_OK);
    t = resolve(o, "h");
    cr_assert_str_eq(val(t, "port"), "22");
    xssh_free(t);
    xssh_options_unref(o);
}

Test(config, explicit_wins_first_value_wins)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set_config_text(o,
                                              "Host alias\n"
                                              "  HostName %h.example.com\n"
                                              "  User fileuser\n"
                                              "  Port 2201\n"
                                              "Host *\n"
                                              "  Port 9999\n"
                                              "  User other\n"
                                              "  IdentityFile ~/.ssh/k_%h_%r_%p\n",
                                              "cfg"),
                 XSSH_OK);
    char *t = resolve(o, "alias");
    cr_assert_str_eq(val(t, "hostname"), "alias.example.com");
    cr_assert_str_eq(val(t, "user"), "fileuser");
    cr_assert_str_eq(val(t, "port"), "2201");
    char want[1024];
    snprintf(want, sizeof want, "%s/.ssh/k_alias.example.com_fileuser_2201", home);
    cr_assert_str_eq(val(t, "identityfile"), want);
    xssh_free(t);
    /* "user@" beats the file; an explicit User beats "user@" (as ssh -o) */
    t = resolve(o, "me@alias");
    cr_assert_str_eq(val(t, "user"), "me");
    cr_assert_str_eq(val(t, "host"), "alias");
    xssh_free(t);
    cr_assert_eq(xssh_options_set(o, "Port", "2022"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "User", "explicit"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Port", "3033"), XSSH_OK); /* first explicit value wins too */
    t = resolve(o, "me@alias");
    cr_assert_str_eq(val(t, "user"), "explicit");
    cr_assert_str_eq(val(t, "port"), "2022");
    snprintf(want, sizeof want, "%s/.ssh/k_alias.example.com_explicit_2022", home);
    cr_assert_str_eq(val(t, "identityfile"), want);
    xssh_free(t);
    xssh_options_unref(o);
}

Test(config, identity_files_accumulate)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    char *t = resolve(o, "h");
    char want[1024];
    snprintf(want, sizeof want, "identityfile %s/.ssh/id_rsa\nidentityfile %s/.ssh/id_ecdsa\n", home, home);
    cr_assert(strstr(t, want) != NULL, "default identity files in ssh's order:\n%s", t);
    cr_assert(strstr(t, "/.ssh/id_dsa\n") != NULL);
    xssh_free(t);
    cr_assert_eq(xssh_options_set(o, "IdentityFile", "/k/one"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "IdentityFile", "/k/two"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "IdentityFile", "/k/one"), XSSH_OK);
    t = resolve(o, "h");
    cr_assert(strstr(t, "identityfile /k/one\nidentityfile /k/two\nglobalknownhostsfile") != NULL, "%s", t);
    xssh_free(t);
    xssh_options_unref(o);
}

Test(config, secrets_never_shown)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Password", "pw-S3cr3t-value"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Passphrase", "pp-S3cr3t-value"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "password", "pw-S3cr3t-second"), XSSH_OK); /* replaced (the old one wiped) */
    char *t = resolve(o, "h");
    cr_assert(strstr(t, "S3cr3t") == NULL, "a secret in the resolved text:\n%s", t);
    cr_assert(strstr(t, "password ") == NULL || strstr(t, "passwordauthentication ") != NULL);
    xssh_free(t);
    /* a failing call does not echo a secret either */
    xssh_options_set(o, "Port", "x");
    cr_assert(strstr(xssh_error_last()->message, "S3cr3t") == NULL);
    xssh_options_unref(o);
}

Test(config, config_text_errors_name_origin_and_line)
{
    xssh_options *o = new_opts();
    expect_error(xssh_options_set_config_text(o, "Host a\n  User x\n  Port none\n", "my.conf"), XSSH_ECONFIG,
                 "my.conf line 3: Bad port 'none'");
    expect_error(xssh_options_set_config_text(o, "\n\nBogusKeyword yes\n", NULL), XSSH_ECONFIG,
                 "<string> line 3: Bad configuration option: boguskeyword");
    expect_error(xssh_options_set_config_text(o, "Host a\n User \"x\n", "q"), XSSH_ECONFIG, "q line 2: invalid quotes");
    expect_error(xssh_options_set_config_text(o, "User\n", "q"), XSSH_ECONFIG, "q line 1: no argument after keyword");
    expect_error(xssh_options_set_config_text(o, "Match exec true\n", "q"), XSSH_ECONFIG,
                 "q line 1: Match exec is not supported");
    expect_error(xssh_options_set_config_text(o, "Match host\n", "q"), XSSH_ECONFIG, "q line 1: Missing Match criteria");
    expect_error(xssh_options_set_config_text(o, "Match all host x\n", "q"), XSSH_ECONFIG, "cannot be combined");
    expect_error(xssh_options_set_config_text(o, "Host never\n Compression perhaps\n", "q"), XSSH_ECONFIG,
                 "q line 2: unsupported option \"perhaps\"");
    /* a refused text leaves the previous configuration in force */
    cr_assert_eq(xssh_options_set_config_text(o, "Host *\n Port 2345\n", "good"), XSSH_OK);
    expect_error(xssh_options_set_config_text(o, "Port x\n", "bad"), XSSH_ECONFIG, "bad line 1");
    char *t = resolve(o, "h");
    cr_assert_str_eq(val(t, "port"), "2345");
    xssh_free(t);
    /* IgnoreUnknown, as ssh */
    cr_assert_eq(xssh_options_set_config_text(o, "IgnoreUnknown UseKeychain\nHost *\n UseKeychain yes\n", "ok"),
                 XSSH_OK);
    xssh_options_unref(o);
}

Test(config, long_line_refused)
{
    xssh_options *o = new_opts();
    size_t n = 300 * 1024;
    char *text = malloc(n + 32);
    cr_assert_not_null(text);
    strcpy(text, "User ");
    memset(text + 5, 'a', n);
    strcpy(text + 5 + n, "\n");
    expect_error(xssh_options_set_config_text(o, text, "big"), XSSH_ECONFIG, "big line 1: line longer than");
    free(text);
    xssh_options_unref(o);
}

Test(config, default_files_and_none)
{
    char p[512];
    snprintf(p, sizeof p, "%s/.ssh/config", home);
    write_file(p, "Host myhost\n  HostName 127.0.0.9\n  User homeuser\n  Port 2299\n", 0600);
    xssh_options *o = new_opts();
    char *t = resolve(o, "myhost");
    cr_assert_str_eq(val(t, "hostname"), "127.0.0.9");
    cr_assert_str_eq(val(t, "user"), "homeuser");
    cr_assert_str_eq(val(t, "port"), "2299");
    xssh_free(t);
    /* NULL options: the defaults, the same files */
    t = resolve(NULL, "myhost");
    cr_assert_str_eq(val(t, "user"), "homeuser");
    xssh_free(t);
    /* ConfigFile none: no file at all */
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    t = resolve(o, "myhost");
    cr_assert_str_eq(val(t, "hostname"), "myhost");
    cr_assert_str_eq(val(t, "port"), "22");
    xssh_free(t);
    /* ~/.ssh/config others may write: refused as ssh does */
    chmod(p, 0666);
    xssh_options *d = new_opts();
    char *t2 = NULL;
    expect_error(xssh_options_resolve(d, "myhost", &t2), XSSH_ECONFIG, "Bad owner or permissions");
    cr_assert_null(t2);
    xssh_options_unref(d);
    xssh_options_unref(o);
}

Test(config, config_file_only_that_file)
{
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/.ssh/config", home);
    write_file(p, "Host *\n  User fromdefault\n", 0600);
    snprintf(q, sizeof q, "%s/other.conf", home);
    write_file(q, "Host x\n  Port 2211\n", 0644);
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", q), XSSH_OK);
    char *t = resolve(o, "x");
    cr_assert_str_eq(val(t, "port"), "2211");
    cr_assert_str_neq(val(t, "user"), "fromdefault");
    xssh_free(t);
    /* "~/" in ConfigFile is the home directory */
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "~/other.conf"), XSSH_OK);
    t = resolve(o, "x");
    cr_assert_str_eq(val(t, "port"), "2211");
    xssh_free(t);
    /* a missing ConfigFile is an error naming it */
    snprintf(q, sizeof q, "%s/missing.conf", home);
    cr_assert_eq(xssh_options_set(o, "ConfigFile", q), XSSH_OK);
    t = NULL;
    expect_error(xssh_options_resolve(o, "x", &t), XSSH_ECONFIG, "missing.conf: cannot open");
    cr_assert_null(t);
    xssh_options_unref(o);
}

Test(config, include_relative_glob_permissions_and_depth)
{
    char p[512];
    snprintf(p, sizeof p, "%s/.ssh/part1.conf", home);
    write_file(p, "Host inc\n  User part1\n", 0644);
    snprintf(p, sizeof p, "%s/.ssh/part2.conf", home);
    write_file(p, "Host inc\n  User part2\n  Port 2002\n", 0644);
    xssh_options *o = new_opts();
    /* relative to ~/.ssh (a user configuration), glob order */
    cr_assert_eq(xssh_options_set_config_text(o, "Include part*.conf nomatch*.conf\n", "t"), XSSH_OK);
    char *t = resolve(o, "inc");
    cr_assert_str_eq(val(t, "user"), "part1");
    cr_assert_str_eq(val(t, "port"), "2002");
    xssh_free(t);
    /* an included file others may write is refused */
    chmod(p, 0666);
    t = NULL;
    expect_error(xssh_options_resolve(o, "inc", &t), XSSH_ECONFIG, "part2.conf: Bad owner or permissions");
    /* an included device or FIFO is refused before it is opened (it could block) */
    cr_assert_eq(xssh_options_set_config_text(o, "Include /dev/null\n", "t"), XSSH_ECONFIG);
    cr_assert(strstr(xssh_error_last()->message, "/dev/null: included, but not a regular file") != NULL, "%s",
              xssh_error_last()->message);
    /* a file including itself stops at the depth bound */
    snprintf(p, sizeof p, "%s/.ssh/loop.conf", home);
    write_file(p, "Include loop.conf\n", 0644);
    cr_assert_eq(xssh_options_set_config_text(o, "Include loop.conf\n", "t"), XSSH_ECONFIG);
    cr_assert(strstr(xssh_error_last()->message, "too many recursive configuration includes") != NULL, "%s",
              xssh_error_last()->message);
    xssh_options_unref(o);
}

/* an Include glob matching a directory skips it silently (ssh -G reads it as empty) */
Test(config, include_glob_skips_directories)
{
    char p[512];
    snprintf(p, sizeof p, "%s/.ssh/conf.d", home);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/.ssh/conf.d/a_subdir", home);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/.ssh/conf.d/b.conf", home);
    write_file(p, "Host d\n  User fromb\n", 0644);
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set_config_text(o, "Include conf.d/*\nInclude conf.d\n", "t"), XSSH_OK,
                 "%s", xssh_error_last()->message);
    char *t = resolve(o, "d");
    cr_assert_str_eq(val(t, "user"), "fromb");
    xssh_free(t);
    /* a FIFO among them is still refused before it is opened */
    snprintf(p, sizeof p, "%s/.ssh/conf.d/c_fifo", home);
    cr_assert_eq(mkfifo(p, 0600), 0);
    expect_error(xssh_options_set_config_text(o, "Include conf.d/*\n", "t"), XSSH_ECONFIG,
                 "c_fifo: included, but not a regular file");
    xssh_options_unref(o);
}

/* the top-level file (ConfigFile, ~/.ssh/config) that is a FIFO is refused, never opened (it would block) */
Test(config, top_level_fifo_refused, .timeout = 30)
{
    char p[512];
    snprintf(p, sizeof p, "%s/fifo.conf", home);
    cr_assert_eq(mkfifo(p, 0600), 0);
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", p), XSSH_OK);
    char *t = NULL;
    expect_error(xssh_options_resolve(o, "x", &t), XSSH_ECONFIG, "fifo.conf: configuration file, but not a regular file");
    cr_assert_null(t);
    xssh_options_unref(o);
    snprintf(p, sizeof p, "%s/.ssh/config", home);
    cr_assert_eq(mkfifo(p, 0600), 0);
    o = new_opts();
    expect_error(xssh_options_resolve(o, "x", &t), XSSH_ECONFIG, ".ssh/config: configuration file, but not a regular file");
    cr_assert_null(t);
    xssh_options_unref(o);
}

/* Include fan-out (10 files a level, each including the 10 of the next, 8 levels: 10^8
   reads) stops at the total bound of files read for one resolution */
Test(config, include_fan_out_bounded, .timeout = 60)
{
    char p[512];
    snprintf(p, sizeof p, "%s/.ssh/fan", home);
    cr_assert_eq(mkdir(p, 0700), 0);
    for (int k = 1; k <= 8; k++)
        for (int i = 0; i < 10; i++) {
            char text[128];
            snprintf(p, sizeof p, "%s/.ssh/fan/L%d_%d.conf", home, k, i);
            if (k < 8)
                snprintf(text, sizeof text, "Include fan/L%d_*.conf\n", k + 1);
            else
                snprintf(text, sizeof text, "Host x\n  User leaf\n");
            write_file(p, text, 0644);
        }
    xssh_options *o = new_opts();
    expect_error(xssh_options_set_config_text(o, "Include fan/L1_*.conf\n", "t"), XSSH_ECONFIG,
                 "more than 4096 configuration files read for one resolution");
    xssh_options_unref(o);
}

Test(config, tokens_env_and_errors)
{
    xssh_options *o = new_opts();
    setenv("XSSH_TEST_CFG_DIR", "/env/dir", 1);
    unsetenv("XSSH_TEST_CFG_UNSET");
    cr_assert_eq(xssh_options_set_config_text(o,
                                              "Host t\n"
                                              "  HostName T-%h\n"
                                              "  IdentityFile ${XSSH_TEST_CFG_DIR}/%n/%%/%d\n"
                                              "  UserKnownHostsFile ~/kh_%h ~/kh2\n"
                                              "Host bad1\n"
                                              "  IdentityFile /x/${XSSH_TEST_CFG_UNSET}\n"
                                              "Host bad2\n"
                                              "  HostName %q\n",
                                              "tok"),
                 XSSH_OK);
    char *t = resolve(o, "t");
    cr_assert_str_eq(val(t, "hostname"), "t-t", "hostnames are lower-cased as ssh does");
    char want[1024];
    snprintf(want, sizeof want, "/env/dir/t/%%/%s", home);
    cr_assert_str_eq(val(t, "identityfile"), want);
    snprintf(want, sizeof want, "%s/kh_t-t %s/kh2", home, home);
    cr_assert_str_eq(val(t, "userknownhostsfile"), want);
    xssh_free(t);
    t = NULL;
    expect_error(xssh_options_resolve(o, "bad1", &t), XSSH_ECONFIG, "${XSSH_TEST_CFG_UNSET} has no value");
    expect_error(xssh_options_resolve(o, "bad2", &t), XSSH_ECONFIG, "unknown token %q");
    cr_assert_null(t);
    xssh_options_unref(o);
}

Test(config, home_falls_back_to_passwd)
{
    unsetenv("HOME");
    struct passwd *pw = getpwuid(getuid());
    cr_assert_not_null(pw);
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    char *t = resolve(o, "h");
    char want[600];
    snprintf(want, sizeof want, "%s%s.ssh/known_hosts", pw->pw_dir,
             pw->pw_dir[strlen(pw->pw_dir) - 1] == '/' ? "" : "/");
    cr_assert(strncmp(val(t, "userknownhostsfile"), want, strlen(want)) == 0, "%s", t);
    cr_assert_str_eq(val(t, "user"), pw->pw_name);
    xssh_free(t);
    xssh_options_unref(o);
}

Test(config, algorithm_edits)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Ciphers", "-chacha20*,aes1*"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "MACs", "^hmac-sha1"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "KexAlgorithms", "+diffie-hellman-group14-sha1"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "HostKeyAlgorithms", "ssh-ed25519,ecdsa-*-nistp256"), XSSH_OK);
    char *t = resolve(o, "h");
    cr_assert_str_eq(val(t, "ciphers"), "aes256-ctr,aes256-gcm@openssh.com");
    cr_assert(strncmp(val(t, "macs"), "hmac-sha1,umac-64-etm@openssh.com,", 34) == 0, "%s", val(t, "macs"));
    const char *kex = val(t, "kexalgorithms");
    cr_assert(strcmp(kex + strlen(kex) - 29, ",diffie-hellman-group14-sha1") == 0 || strstr(kex, "group14-sha1") != NULL);
    cr_assert_str_eq(val(t, "hostkeyalgorithms"), "ssh-ed25519,ecdsa-sha2-nistp256");
    xssh_free(t);
    xssh_options_unref(o);
}

Test(config, proxyjump_and_strict_values)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set_config_text(o,
                                              "Host j\n"
                                              "  ProxyJump a@h1:2201,h2,[::1]:22\n"
                                              "  StrictHostKeyChecking off\n"
                                              "Host n\n"
                                              "  ProxyJump none\n"
                                              "  StrictHostKeyChecking accept-new\n"
                                              "Host *\n"
                                              "  ProxyJump never\n",
                                              "pj"),
                 XSSH_OK);
    char *t = resolve(o, "j");
    cr_assert_str_eq(val(t, "proxyjump"), "a@h1:2201,h2,[::1]:22");
    cr_assert_str_eq(val(t, "stricthostkeychecking"), "false");
    xssh_free(t);
    t = resolve(o, "n");
    cr_assert_null(val(t, "proxyjump"));
    cr_assert_str_eq(val(t, "stricthostkeychecking"), "accept-new");
    xssh_free(t);
    expect_error(xssh_options_set(o, "ProxyJump", "user@"), XSSH_EARG, "Invalid ProxyJump");
    /* the refused hop and why */
    static const char *const bad[][2] = {
        {"user@", "(hop \"user@\": an empty host)"},
        {"h1,@h2", "(hop \"@h2\": an empty user name before '@')"},
        {"root@[127.0.0.1:22", "(hop \"root@[127.0.0.1:22\": '[' without its ']')"},
        {"[h]x:22", "(hop \"[h]x:22\": text after ']' that is not ':port')"},
        {"ssh://h:99999", "(hop \"ssh://h:99999\": the port is not a number in 1..65535)"},
        {"ssh://h:22/path", "(hop \"ssh://h:22/path\": a path after the ssh:// host)"},
        {"ssh://", "(hop \"ssh://\": nothing after ssh://)"},
        {"a,,b", "(hop \"\": an empty host)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(xssh_options_set(o, "ProxyJump", bad[i][0]), XSSH_EARG, bad[i][1]);
    xssh_options_unref(o);
}

Test(config, callbacks_set_and_cleared)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set_passphrase_cb(o, NULL, NULL), XSSH_OK);
    cr_assert_eq(xssh_options_set_prompt_cb(o, NULL, (void *)1), XSSH_OK);
    xssh_options_unref(o);
}

/* one options object shared by threads: resolutions while another thread sets
   options see either the old or the new value, never a torn one */
static void *resolver(void *arg)
{
    xssh_options *o = arg;
    for (int i = 0; i < 40; i++) {
        char *t = NULL;
        if (xssh_options_resolve(o, "shared", &t) != XSSH_OK)
            return (void *)1;
        const char *u = val(t, "user");
        int ok = u && (strcmp(u, "fromtext") == 0 || strncmp(u, "explicit", 8) == 0);
        xssh_free(t);
        if (!ok)
            return (void *)2;
    }
    return NULL;
}

Test(config, shared_between_threads)
{
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set_config_text(o, "Host shared\n  User fromtext\n", "t"), XSSH_OK);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, resolver, o), 0);
    for (int i = 0; i < 40; i++) {
        char v[32];
        snprintf(v, sizeof v, "explicit%d", i);
        cr_assert_eq(xssh_options_set(o, "IdentityFile", v), XSSH_OK);
        if (i == 20)
            cr_assert_eq(xssh_options_set(o, "User", "explicit"), XSSH_OK);
        cr_assert_eq(xssh_options_set_config_text(o, "Host shared\n  User fromtext\n", "t"), XSSH_OK);
    }
    for (int i = 0; i < 3; i++) {
        void *r = (void *)9;
        cr_assert_eq(pthread_join(th[i], &r), 0);
        cr_assert_null(r, "resolver %d failed (%p)", i, r);
    }
    char *t = resolve(o, "shared");
    cr_assert_str_eq(val(t, "user"), "explicit");
    xssh_free(t);
    xssh_options_unref(o);
}

Test(config, dup_is_an_independent_copy)
{
    xssh_options *o = new_opts(), *c = (xssh_options *)1;
    expect_error(xssh_options_dup(NULL, &c), XSSH_EARG, "src");
    cr_assert_null(c);
    expect_error(xssh_options_dup(o, NULL), XSSH_EARG, "out");
    cr_assert_eq(xssh_options_set_config_text(o, "Host *\n  Port 2222\n", "text"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "User", "first"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Password", "sekrit"), XSSH_OK);
    cr_assert_eq(xssh_options_dup(o, &c), XSSH_OK);
    /* later changes on either side stay there */
    cr_assert_eq(xssh_options_set(o, "Compression", "yes"), XSSH_OK);
    cr_assert_eq(xssh_options_set(c, "ConnectTimeout", "7"), XSSH_OK);
    char *to = resolve(o, "h"), *tc = resolve(c, "h");
    cr_assert_str_eq(val(to, "user"), "first");
    cr_assert_str_eq(val(tc, "user"), "first");
    cr_assert_str_eq(val(tc, "port"), "2222");
    cr_assert_str_eq(val(to, "compression"), "yes");
    cr_assert_str_eq(val(tc, "compression"), "no");
    cr_assert_str_eq(val(tc, "connecttimeout"), "7");
    cr_assert(strstr(tc, "sekrit") == NULL);
    free(to);
    free(tc);
    xssh_options_unref(o);
    xssh_options_unref(c);
}

/* a configuration file or Include directory that exists but cannot be read is an
   error naming it and the errno, never "no such file" (nothing configured) */
Test(config, unreadable_config_is_an_error, .timeout = 30)
{
    char p[512];
    snprintf(p, sizeof p, "%s/dir.conf", home);
    cr_assert_eq(mkdir(p, 0700), 0);
    xssh_options *o = new_opts();
    cr_assert_eq(xssh_options_set(o, "ConfigFile", p), XSSH_OK);
    char *t = NULL;
    int rc = xssh_options_resolve(o, "x", &t);
    cr_assert_eq(rc, XSSH_ECONFIG, "got %s: %s", xssh_err_name(rc), xssh_error_last()->message);
    cr_assert(strstr(xssh_error_last()->message, "dir.conf"), "%s", xssh_error_last()->message);
    cr_assert_null(t);
    xssh_options_unref(o);
    /* Include under a directory whose name is too long to open: ENAMETOOLONG, not "no match" */
    char inc[1200];
    memset(p, 'a', 300);
    p[300] = '\0';
    snprintf(inc, sizeof inc, "Include %s/%s/*\n", home, p);
    o = new_opts();
    expect_error(xssh_options_set_config_text(o, inc, "t"), XSSH_ECONFIG, strerror(ENAMETOOLONG));
    xssh_options_unref(o);
}

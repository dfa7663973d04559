
/*
 * Copyright (C) The ngx_grapevine authors
 */


/*
 * A tiny TAP producer for the unit tests: tap_plan(), tap_ok(),
 * tap_is_str(), tap_is_int(), tap_diag() and tap_done_testing(), whose
 * result is the exit status (non-zero when a test failed or the plan was
 * not met).  Header-only: every function is static inline.
 */


#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <string.h>


typedef struct {
    int  planned;      /* -1: no plan yet */
    int  run;
    int  failed;
} tap_state_t;


static tap_state_t  tap_state = { -1, 0, 0 };


static inline void
tap_plan(int n)
{
    printf("1..%d\n", n);
    fflush(stdout);
    tap_state.planned = n;
}


static inline void
tap_diag(const char *fmt, ...)
{
    va_list  args;

    fflush(stdout);
    fputs("# ", stderr);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


/* "#" would start a TAP directive, a newline a new TAP line */

static inline int
tap_ok(int ok, const char *fmt, ...)
{
    char     buf[512], *p;
    va_list  args;

    tap_state.run++;

    if (!ok) {
        tap_state.failed++;
    }

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    printf("%sok %d - ", ok ? "" : "not ", tap_state.run);

    for (p = buf; *p; p++) {
        if (*p == '#') {
            putchar('\\');
        }

        putchar(*p == '\n' ? ' ' : *p);
    }

    putchar('\n');
    fflush(stdout);

    if (!ok) {
        tap_diag("  Failed test %d", tap_state.run);
    }

    return ok;
}


static inline void
tap_diag_bytes(const char *label, const unsigned char *p, size_t n)
{
    size_t  i;

    fflush(stdout);

    if (p == NULL) {
        fprintf(stderr, "# %10s: NULL\n", label);
        return;
    }

    fprintf(stderr, "# %10s: \"", label);

    for (i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            fprintf(stderr, "\\%c", p[i]);

        } else if (p[i] < 0x20 || p[i] >= 0x7f) {
            fprintf(stderr, "\\x%02x", p[i]);

        } else {
            fputc(p[i], stderr);
        }
    }

    fputs("\"\n", stderr);
}


/* got (data, len) equals the C string expected; NULL matches NULL only */

static inline int
tap_is_str(const unsigned char *got, size_t len, const char *expected,
    const char *name)
{
    int  ok;

    if (expected == NULL || got == NULL) {
        ok = (expected == NULL && got == NULL);

    } else {
        ok = (len == strlen(expected) && memcmp(got, expected, len) == 0);
    }

    if (!tap_ok(ok, "%s", name)) {
        tap_diag_bytes("got", got, len);
        tap_diag_bytes("expected", (const unsigned char *) expected,
                       expected ? strlen(expected) : 0);
    }

    return ok;
}


static inline int
tap_is_cstr(const char *got, const char *expected, const char *name)
{
    return tap_is_str((const unsigned char *) got, got ? strlen(got) : 0,
                      expected, name);
}


static inline int
tap_is_int(long long got, long long expected, const char *name)
{
    if (!tap_ok(got == expected, "%s", name)) {
        tap_diag("       got: %lld", got);
        tap_diag("  expected: %lld", expected);
        return 0;
    }

    return 1;
}


static inline int
tap_done_testing(void)
{
    if (tap_state.planned < 0) {
        printf("1..%d\n", tap_state.run);
        tap_state.planned = tap_state.run;
    }

    fflush(stdout);

    if (tap_state.planned != tap_state.run) {
        tap_diag("planned %d tests but ran %d", tap_state.planned,
                 tap_state.run);
        return 255;
    }

    if (tap_state.failed) {
        tap_diag("failed %d of %d tests", tap_state.failed, tap_state.run);
        return tap_state.failed < 254 ? tap_state.failed : 254;
    }

    return 0;
}


#endif /* _TAP_H_INCLUDED_ */

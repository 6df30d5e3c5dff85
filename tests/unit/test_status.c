/* test_status.c - status codes and messages (src/core/status.c): a message is one line
 * whatever a damaged file or an input put into it; the code's description stands in when no
 * message was recorded for it. */
#include <criterion/criterion.h>

#include <string.h>

#include "s2s/status.h"

Test(status, message_is_one_line)
{
    int rc = s2s_fail(S2S_EFORMAT, "f.h5: cell '%s' is not one of rnn, gru, lstm", "gr\nu\t\x01");
    cr_assert_eq(rc, S2S_EFORMAT);
    cr_assert_str_eq(s2s_errmsg(rc), "f.h5: cell 'gr\\nu\\t\\x01' is not one of rnn, gru, lstm");
    /* UTF-8 passes unchanged. */
    s2s_fail(S2S_EINVAL, "token \"%s\"", "\xc3\xa9t\xc3\xa9");
    cr_assert_str_eq(s2s_errmsg(S2S_EINVAL), "token \"\xc3\xa9t\xc3\xa9\"");
}

Test(status, long_messages_are_cut_not_overrun)
{
    char big[3000];
    memset(big, '\n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s2s_fail(S2S_EIO, "%s", big);
    const char *m = s2s_errmsg(S2S_EIO);
    cr_assert(strlen(m) < 1024 && strlen(m) > 1000, "%zu", strlen(m));
    cr_assert(!strchr(m, '\n'));
}

Test(status, description_without_a_message)
{
    s2s_clear_error();
    cr_assert_str_eq(s2s_errmsg(S2S_ENOMEM), "out of memory");
    s2s_fail(S2S_EIO, "x");
    cr_assert_str_eq(s2s_errmsg(S2S_ESTOPPED), "stopped by a signal");
}

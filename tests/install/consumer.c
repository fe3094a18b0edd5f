#include <stdio.h>
#include <string.h>
#include <xssh.h>
int main(void)
{
    xssh_session *s = NULL;
    if (xssh_session_new(&s) != XSSH_OK)
        return 1;
    /* a closed session answers with the closed error */
    xssh_session_close(s);
    int rc = xssh_session_userauth_password(s, "u", "p");
    xssh_session_unref(s);
    printf("xssh %s: %s\n", xssh_version(), xssh_err_name(rc));
    return strcmp(xssh_version(), "0.1.0") != 0 || rc >= 0;
}

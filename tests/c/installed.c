/* A user's program against the installed library (scripts/test-packages.sh
 * builds it with `pkg-config --cflags --libs stevedore`): copies SRC to DST
 * and prints the library's version and the copy's report. */
#include <stdio.h>
#include <stevedore.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SRC DST\n", argv[0]);
        return 2;
    }
    stevedore_client *client = NULL;
    if (stevedore_client_new(NULL, &client) != STEVEDORE_OK) {
        fprintf(stderr, "client: %s\n", stevedore_last_error_message());
        return 1;
    }
    char *report = NULL;
    stevedore_status status = stevedore_copy(client, argv[1], argv[2], NULL, NULL, NULL, &report);
    if (status != STEVEDORE_OK) {
        fprintf(stderr, "copy: %s\n", stevedore_last_error_message());
        stevedore_client_free(client);
        return 1;
    }
    printf("libstevedore %s: %s\n", stevedore_version(), report);
    stevedore_string_free(report);
    stevedore_client_free(client);
    return 0;
}

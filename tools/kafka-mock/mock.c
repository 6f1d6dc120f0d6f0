/*
 * kafka-mock: a Kafka-protocol server on loopback for eyrie's tests and benchmarks.
 *
 * librdkafka's mock cluster (rdkafka_mock.h) speaks enough of the protocol for produce, fetch,
 * consumer groups and offset commits; it cannot create topics through the admin API, so topics are
 * created here from argv.
 *
 *   kafka-mock [--brokers N] [TOPIC:PARTITIONS ...]
 *
 * Prints one line, the bootstrap servers (127.0.0.1:PORT,...), then reads commands from stdin, one a
 * line, and answers each with one line on stdout ("ok ..." or "error ..."):
 *   TOPIC:PARTITIONS   create a topic
 *   down ID | up ID    take broker ID (1..N) down or bring it back (connections refused meanwhile)
 * It runs until stdin reaches EOF (the parent went away) or SIGTERM/SIGINT arrives. Exit status 0 on a
 * clean stop, 2 on bad arguments, 1 when librdkafka refuses something at start.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int usage(const char *why) {
    fprintf(stderr, "kafka-mock: %s\nusage: kafka-mock [--brokers N] [TOPIC:PARTITIONS ...]\n", why);
    return 2;
}

/* Parses a positive int in [1, max]; -1 when it is not one. */
static int positive(const char *s, int max) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) return -1;
    return (int)v;
}

/* Creates TOPIC:PARTITIONS; returns 0, or writes why to `why` and returns -1. */
static int create_topic(rd_kafka_mock_cluster_t *cluster, int brokers, const char *spec, char *why, size_t why_size) {
    char name[512];
    const char *colon = strrchr(spec, ':');
    int partitions = colon == NULL ? -1 : positive(colon + 1, 10000);
    if (colon == NULL || colon == spec || partitions < 0) {
        snprintf(why, why_size, "expected TOPIC:PARTITIONS, got %s", spec);
        return -1;
    }
    size_t len = (size_t)(colon - spec);
    if (len >= sizeof name) {
        snprintf(why, why_size, "topic name too long");
        return -1;
    }
    memcpy(name, spec, len);
    name[len] = '\0';
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster, name, partitions, brokers < 3 ? brokers : 3);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, why_size, "create topic %s: %s", name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* Runs one stdin command line and answers it on stdout. */
static void command(rd_kafka_mock_cluster_t *cluster, int brokers, char *line) {
    char why[640];
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0) return;
    if (strncmp(line, "down ", 5) == 0 || strncmp(line, "up ", 3) == 0) {
        int down = line[0] == 'd';
        int id = positive(line + (down ? 5 : 3), brokers);
        if (id < 0) {
            printf("error: no broker %s\n", line + (down ? 5 : 3));
        } else {
            rd_kafka_resp_err_t e = down ? rd_kafka_mock_broker_set_down(cluster, id) : rd_kafka_mock_broker_set_up(cluster, id);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) printf("error: %s\n", rd_kafka_err2str(e));
            else printf("ok %s\n", line);
        }
    } else if (create_topic(cluster, brokers, line, why, sizeof why) == 0) {
        printf("ok %s\n", line);
    } else {
        printf("error: %s\n", why);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    int brokers = 1;
    int first_topic = 1;
    if (argc >= 3 && strcmp(argv[1], "--brokers") == 0) {
        brokers = positive(argv[2], 16);
        if (brokers < 0) return usage("--brokers takes 1..16");
        first_topic = 3;
    }
    for (int i = first_topic; i < argc; i++) {
        const char *colon = strrchr(argv[i], ':');
        if (colon == NULL || colon == argv[i] || positive(colon + 1, 10000) < 0) return usage("topics are TOPIC:PARTITIONS");
    }

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the mock cluster; keep its own logging to real problems. */
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "kafka-mock: rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (cluster == NULL) {
        fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int status = 0;
    for (int i = first_topic; i < argc && status == 0; i++) {
        char why[640];
        if (create_topic(cluster, brokers, argv[i], why, sizeof why) != 0) {
            fprintf(stderr, "kafka-mock: %s\n", why);
            status = 1;
        }
    }

    if (status == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
        fflush(stdout);

        /* The cluster runs on librdkafka's own threads; this one takes commands and waits for a
         * reason to stop. */
        struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
        char buf[4096];
        size_t held = 0;
        while (!stop) {
            int n = poll(&in, 1, 200);
            if (n < 0 && errno != EINTR) break;
            if (n <= 0) continue;
            ssize_t got = read(STDIN_FILENO, buf + held, sizeof buf - 1 - held);
            if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) break;
            if (got < 0) continue;
            held += (size_t)got;
            buf[held] = '\0';
            char *start = buf;
            char *nl;
            while ((nl = strchr(start, '\n')) != NULL) {
                *nl = '\0';
                command(cluster, brokers, start);
                start = nl + 1;
            }
            held = strlen(start);
            memmove(buf, start, held);
            if (held == sizeof buf - 1) held = 0; /* a line longer than the buffer: drop it */
        }
    }
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return status;
}

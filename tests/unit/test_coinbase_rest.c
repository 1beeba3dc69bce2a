/* test_coinbase_rest.c: the Advanced Trade REST client against tests/coinbase/at_server.py on
 * 127.0.0.1, which checks every JWT server-side with the public key (signature, claims, the uri
 * of the very request) and replays the recorded order and fill fixtures. Skipped when python3's
 * 'cryptography' or the shared fixtures are absent. */
#include "noderr/clock.h"
#include "noderr/coinbase.h"

#include <criterion/criterion.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct server {
    pid_t pid;
    char url[64];
    char priv[1024];
    char dir[64];
} server_t;

static void write_keys(server_t *s)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
    int n = BIO_read(b, s->priv, (int)sizeof s->priv - 1);
    s->priv[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    char path[128];
    snprintf(path, sizeof path, "%s/pub.pem", s->dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert(PEM_write_PUBKEY(f, key));
    fclose(f);
    EVP_PKEY_free(key);
}

static void start(server_t *s)
{
    char fix[512], script[512], pub[128], port_file[128];
    snprintf(fix, sizeof fix, "%s/fixtures/coinbase/advanced_rest", ND_SHARED_DIR);
    struct stat st;
    if (stat(fix, &st) != 0)
        cr_skip_test("shared coinbase fixtures absent");
    snprintf(s->dir, sizeof s->dir, "/tmp/nd_cbrest_XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    write_keys(s);
    snprintf(script, sizeof script, "%s/../coinbase/at_server.py", ND_TEST_DATA_DIR);
    snprintf(pub, sizeof pub, "%s/pub.pem", s->dir);
    snprintf(port_file, sizeof port_file, "%s/port", s->dir);
    char *argv[] = {"python3", script, pub, port_file, fix, NULL};
    cr_assert_eq(posix_spawnp(&s->pid, "python3", NULL, NULL, argv, environ), 0);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(port_file, "r");
        int port = 0;
        if (f && fscanf(f, "%d", &port) == 1 && port > 0) {
            fclose(f);
            snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
            return;
        }
        if (f)
            fclose(f);
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
                cr_skip_test("python3 'cryptography' absent");
            cr_assert_fail("at_server.py exited");
        }
        usleep(50000);
    }
    cr_assert_fail("at_server.py did not start");
}

static void stop(server_t *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    cr_assert_eq(system(cmd), 0);
}

typedef struct events {
    nd_md_event_t ev[8];
    int n;
} events_t;

static void collect(void *ctx, const nd_md_event_t *e)
{
    events_t *c = ctx;
    if (c->n < 8)
        c->ev[c->n] = *e;
    c->n++;
}

Test(coinbase_rest, orders_fills_accounts_with_verified_jwts)
{
    server_t s;
    start(&s);
    nd_coinbase_rest_t *rest = NULL;
    char err[256] = "";
    cr_assert_eq(nd_coinbase_rest_create(s.url, "organizations/o/apiKeys/k", s.priv, nd_clock_os(),
                                         5000, &rest, err, sizeof err),
                 ND_OK, "%s", err);
    nd_coinbase_order_req_t req = {.client_order_id = "cid-1", .product_id = "BTC-USD",
                                   .buy = true, .base_size = "0.001", .limit_price = "10000.00"};
    nd_coinbase_order_result_t res;
    cr_assert_eq(nd_coinbase_create_order(rest, &req, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert(res.success, "http %ld reason %s", res.http_status, res.failure_reason);
    cr_assert_eq(strlen(res.order_id), 36);
    req.product_id = "FAIL-USD";
    cr_assert_eq(nd_coinbase_create_order(rest, &req, &res, err, sizeof err), ND_OK);
    cr_assert(!res.success);
    cr_assert_str_eq(res.failure_reason, "INSUFFICIENT_FUND");
    cr_assert_eq(res.reject, ND_REJECT_INSUFFICIENT_FUNDS);
    bool cancelled = false;
    cr_assert_eq(nd_coinbase_cancel_order(rest, "01b6e467-b659-432f-9490-c7cefe949564",
                                          &cancelled, err, sizeof err), ND_OK, "%s", err);
    cr_assert(cancelled);
    events_t c = {0};
    size_t n = 0;
    cr_assert_eq(nd_coinbase_list_orders(rest, "ADA-USDT", collect, &c, &n, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(n, 1);
    nd_md_order_update_t *o = &c.ev[0].u.order;
    cr_assert_str_eq(o->venue_order_id, "01b6e467-b659-432f-9490-c7cefe949564");
    cr_assert_str_eq(o->client_order_id, "a0f970a2-05fa-4e1f-9517-f6702c33cfd1");
    cr_assert_eq(o->status, ND_MD_ORDER_FILLED);
    cr_assert_eq(o->side, ND_MD_SIDE_ASK);
    cr_assert_eq(o->cum_qty, 1000000000);   /* 10 */
    cr_assert_eq(o->last_px, 39200000);     /* 0.392 */
    cr_assert_eq(o->fee, 3136000);          /* 0.03136 */
    cr_assert_eq(o->qty, 1000000000);       /* market_market_ioc base_size 10 */
    c.n = 0;
    cr_assert_eq(nd_coinbase_list_fills(rest, NULL, collect, &c, &n, err, sizeof err), ND_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(c.ev[0].u.order.last_qty, 1000000000);
    cr_assert_eq(c.ev[0].venue_ts_ns, 1700993987504000000LL);
    c.n = 0;
    cr_assert_eq(nd_coinbase_accounts(rest, collect, &c, &n, err, sizeof err), ND_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(c.ev[0].u.balance.asset, "BTC");
    cr_assert_eq(c.ev[0].u.balance.free, 1234567);
    cr_assert_eq(c.ev[0].u.balance.locked, 100000);
    cr_assert_eq(c.ev[1].u.balance.free, 150025000000LL);
    nd_coinbase_rest_destroy(rest);
    stop(&s);
}

Test(coinbase_rest, wrong_key_is_unauthorized)
{
    server_t s;
    start(&s);
    /* Sign with a different key than the server holds. */
    EVP_PKEY *other = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, other, NULL, NULL, 0, NULL, NULL);
    char pem[1024];
    int len = BIO_read(b, pem, sizeof pem - 1);
    pem[len > 0 ? len : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(other);
    nd_coinbase_rest_t *rest = NULL;
    char err[256];
    cr_assert_eq(nd_coinbase_rest_create(s.url, "k", pem, nd_clock_os(), 5000, &rest, err,
                                         sizeof err), ND_OK);
    nd_coinbase_order_req_t req = {.client_order_id = "c", .product_id = "BTC-USD",
                                   .market = true, .quote_size = "10"};
    nd_coinbase_order_result_t res;
    cr_assert_eq(nd_coinbase_create_order(rest, &req, &res, err, sizeof err), ND_OK);
    cr_assert(!res.success);
    cr_assert_eq(res.http_status, 401);
    cr_assert_eq(res.reject, ND_REJECT_VENUE_UNAUTHORIZED);
    size_t n;
    cr_assert_eq(nd_coinbase_accounts(rest, NULL, NULL, &n, err, sizeof err), ND_EIO);
    cr_assert_null(strstr(err, "BEGIN"), "the key leaked into the error");
    nd_coinbase_rest_destroy(rest);
    stop(&s);
}

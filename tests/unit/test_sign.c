/* Unit tests of pbfire's signatures: HMAC against RFC 2202's and RFC
 * 4231's test case 2, its hex and base64 forms, the decoding of Standard
 * Webhooks secrets, and the vector published with the Standard Webhooks
 * reference libraries (libraries/go/webhook_test.go TestSign,
 * libraries/javascript/src/webhook.test.ts "sign function works",
 * libraries/php/tests/WebhookTest.php; the same in all three). */
#include <string.h>

#include "hmac.h"
#include "signwords.h"
#include "tap.h"

static const char jefe_data[] = "what do ya want for nothing?";

static void test_hmac_hex(void)
{
	static const char *const want[] = {
		"effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		"9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	};
	for (int a = HMAC_SHA1; a <= HMAC_SHA512; a++) {
		unsigned char mac[HMAC_MAX];
		struct buf hex = { 0 };
		size_t n = hmac_compute((enum hmac_algorithm)a, "Jefe", 4, jefe_data, strlen(jefe_data), mac);
		hmac_add_hex(&hex, mac, n);
		ok(hex.data && !strcmp(hex.data, want[a]), "HMAC-%s of RFC test case 2: %s",
		   sign_algorithms[a], hex.data);
		buf_free(&hex);
	}
}

static void test_hmac_base64(void)
{
	unsigned char mac[HMAC_MAX];
	struct buf b64 = { 0 };
	size_t n = hmac_compute(HMAC_SHA256, "Jefe", 4, jefe_data, strlen(jefe_data), mac);
	hmac_add_base64(&b64, mac, n);
	ok(!strcmp(b64.data, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="), "base64 HMAC: %s", b64.data);
	buf_free(&b64);
}

static void test_secret_decode(void)
{
	struct buf key = { 0 };
	ok(webhook_secret_decode("whsec_AAECAw==", 14, &key) && key.len == 4 && key.data[3] == 3,
	   "a whsec_ secret decodes to its bytes");
	ok(webhook_secret_decode("AAECAw==", 8, &key) && key.len == 4, "so does one without the prefix");
	ok(webhook_secret_decode("AAEC", 4, &key) && key.len == 3, "and one without padding");
	ok(!webhook_secret_decode("whsec_", 6, &key), "an empty secret is refused");
	ok(!webhook_secret_decode("whsec_AAE*", 10, &key), "so is one that is not base64");
	ok(!webhook_secret_decode("whsec_AAE", 9, &key), "and one cut short");
	ok(!webhook_secret_decode("whsec_AA==AAAA", 14, &key), "and one with padding inside");
	ok(!webhook_secret_decode("AAE ", 4, &key), "and one with a space");
	buf_free(&key);
}

static void test_published_vector(void)
{
	static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	static const char id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek", body[] = "{\"test\": 2432232314}";
	struct buf key = { 0 }, sig = { 0 };
	webhook_secret_decode(secret, strlen(secret), &key);
	webhook_signature(key.data, key.len, id, strlen(id), 1614265330, body, strlen(body), &sig);
	ok(!strcmp(sig.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
	   "the Standard Webhooks libraries' vector: %s", sig.data);
	webhook_signature(key.data, key.len, id, strlen(id), 1614265330, body, strlen(body), &sig);
	ok(!strcmp(sig.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
			     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
	   "a second signature follows the first after a space");
	buf_free(&key);
	buf_free(&sig);
}

int main(void)
{
	test_hmac_hex();
	test_hmac_base64();
	test_secret_decode();
	test_published_vector();
	return done();
}

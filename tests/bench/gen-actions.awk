# Writes n realistic actions (about 300 bytes a line): mixed types and
# statuses, offer and publisher ids skewed towards a few big ones, values
# that need percent-encoding. Deterministic: the same n gives the same log.
# usage: awk -v n=1000000 -f gen-actions.awk
function pick(list,    k, a) { k = split(list, a, "|"); return a[int(rand() * k) + 1] }
function hex(len,    s, i) { s = ""; for (i = 0; i < len; i++) s = s substr("0123456789abcdef", int(rand() * 16) + 1, 1); return s }
BEGIN {
	srand(1)
	base = 1795478400	# 2026-11-24T00:00:00Z
	for (i = 0; i < n; i++) {
		r = rand()
		type = r < 0.55 ? "click" : r < 0.9 ? "conversion" : "event"
		offer = int(200 * rand() ^ 3) + 1
		pub = int(3000 * rand() ^ 4) + 1
		status = rand() < 0.8 ? "approved" : "rejected"
		reason = status == "rejected" ? "\"" pick("chargeback|fraud|policy|duplicate|refund") "\"" : "null"
		t = base + int(i * 86400 / n)
		printf "{\"type\":\"%s\",\"transaction_id\":\"%s-%s-%s\",\"external_transaction_id\":\"%s\",", \
			type, hex(8), hex(4), hex(12), pick("pub abc&x=1|clé/é 100%|a+b#c|plain-" i "|emoji 🎉 ok")
		printf "\"offer_id\":%d,\"publisher_id\":\"%d\",\"sub_id\":\"%s\",\"payout\":%d.%02d,\"revenue\":%d.50,", \
			offer, pub, pick("s1|banner top|feed/2|a&b"), int(rand() * 20), int(rand() * 100), int(rand() * 40)
		printf "\"currency\":\"%s\",\"status\":\"%s\",\"rejection_reason\":%s,", pick("USD|EUR|GBP"), status, reason
		if (type == "event")
			printf "\"event_name\":\"%s\",", pick("deposit|signup|login")
		printf "\"country\":\"%s\",\"ip\":\"203.0.113.%d\",\"time\":\"%s\"}\n", \
			pick("US|DE|FR|BR|IN"), int(rand() * 254) + 1, strftime("%Y-%m-%dT%H:%M:%SZ", t, 1)
	}
}

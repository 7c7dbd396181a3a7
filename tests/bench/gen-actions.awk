# Writes n realistic actions (about 300 bytes a line): mixed types and
# statuses, offer and publisher ids skewed towards a few big ones, values
# that need percent-encoding. Deterministic: the same n gives the same log.
# With -v verdicts=F (0.05 for 5%), every 1/F-th approved conversion is
# followed, verdict_after seconds later (default 60) and in time order, by
# a fraud check's verdict: the same action rejected for fraud. The
# actions themselves are the same with verdicts or without.
# usage: awk -v n=1000000 [-v verdicts=0.05] -f gen-actions.awk
function pick(list,    k, a) { k = split(list, a, "|"); return a[int(rand() * k) + 1] }
function hex(len,    s, i) { s = ""; for (i = 0; i < len; i++) s = s substr("0123456789abcdef", int(rand() * 16) + 1, 1); return s }
function stamp(t) { return strftime("%Y-%m-%dT%H:%M:%SZ", t, 1) }
# action(...): one line, its time last so that a verdict can rewrite it.
function action(type, tx, ext, offer, pub, subid, payout, revenue, currency, status, reason, event, country, ip, t) {
	return sprintf("{\"type\":\"%s\",\"transaction_id\":\"%s\",\"external_transaction_id\":\"%s\",", type, tx, ext) \
		sprintf("\"offer_id\":%d,\"publisher_id\":\"%d\",\"sub_id\":\"%s\",\"payout\":%s,\"revenue\":%d.50,", \
			offer, pub, subid, payout, revenue) \
		sprintf("\"currency\":\"%s\",\"status\":\"%s\",\"rejection_reason\":%s,", currency, status, reason) \
		(type == "event" ? sprintf("\"event_name\":\"%s\",", event) : "") \
		sprintf("\"country\":\"%s\",\"ip\":\"%s\",\"time\":\"%s\"}", country, ip, stamp(t))
}
# Writes the verdicts queued for times up to t, oldest first.
function flush_verdicts(t) {
	while (vhead < vtail && vtime[vhead] <= t) {
		print vline[vhead]
		delete vline[vhead]; delete vtime[vhead++]
	}
}
BEGIN {
	srand(1)
	base = 1795478400	# 2026-11-24T00:00:00Z
	vhead = vtail = 0
	every = verdicts > 0 ? int(1 / verdicts + 0.5) : 0
	if (verdict_after == "")
		verdict_after = 60
	for (i = 0; i < n; i++) {
		r = rand()
		type = r < 0.55 ? "click" : r < 0.9 ? "conversion" : "event"
		offer = int(200 * rand() ^ 3) + 1
		pub = int(3000 * rand() ^ 4) + 1
		status = rand() < 0.8 ? "approved" : "rejected"
		reason = status == "rejected" ? "\"" pick("chargeback|fraud|policy|duplicate|refund") "\"" : "null"
		t = base + int(i * 86400 / n)
		tx = hex(8) "-" hex(4) "-" hex(12)
		ext = pick("pub abc&x=1|clé/é 100%|a+b#c|plain-" i "|emoji 🎉 ok")
		subid = pick("s1|banner top|feed/2|a&b")
		payout = sprintf("%d.%02d", int(rand() * 20), int(rand() * 100))
		revenue = int(rand() * 40)
		currency = pick("USD|EUR|GBP")
		event = type == "event" ? pick("deposit|signup|login") : ""
		country = pick("US|DE|FR|BR|IN")
		ip = "203.0.113." (int(rand() * 254) + 1)
		flush_verdicts(t)
		print action(type, tx, ext, offer, pub, subid, payout, revenue, currency, status, reason, event, country, ip, t)
		if (every && type == "conversion" && status == "approved" && ++approved % every == 0) {
			vtime[vtail] = t + verdict_after
			vline[vtail++] = action(type, tx, ext, offer, pub, subid, payout, revenue, currency, \
				"rejected", "\"fraud\"", event, country, ip, t + verdict_after)
		}
	}
	flush_verdicts(base + 2 * 86400 + verdict_after)
}

# Writes a rule file of n postbacks: the ten of the benchmark's base set,
# then n - 10 more, one per (offer, publisher) pair that the generated log
# never uses, so every size produces the same output and the timing
# measures the cost of looking rules up, nothing else.
# usage: awk -v n=100000 -f gen-rules.awk
BEGIN {
	print "postbacks:"
	print "  - {name: bench-pub7, type: conversion, scope: {offer: 12, publisher: 7}, url: \"https://p7.example/pb?c={external_transaction_id}&s={status}\", status: approved}"
	print "  - {name: bench-crm, type: conversion, status: any, rejection_reasons: [chargeback], url: \"https://crm.example/c?t={transaction_id}\", delay: 5m}"
	print "  - {name: bench-clicks, type: click, scope: {publisher: [1, 2, 3]}, url: \"https://clk.example/?id={external_transaction_id}\"}"
	print "  - {name: bench-deposit, type: event, event: deposit, scope: {offer: [1, 2]}, url: \"https://ev.example/?e={event_name}\", delay: 1h}"
	print "  - {name: bench-rej, type: conversion, status: rejected, scope: {publisher: 2}, url: \"https://r.example/?w={rejection_reason}\", delay: 3m}"
	for (i = 6; i <= 10; i++)
		printf "  - {name: bench-o%d, type: conversion, scope: {offer: %d}, url: \"https://o%d.example/?p={payout}\", delay: 2m}\n", i, i, i
	for (i = 11; i <= n; i++)
		printf "  - {name: pub%d-%s, type: %s, scope: {offer: %d, publisher: %d}, url: \"https://pub%d.example/pb?c={external_transaction_id}\", delay: 2m}\n", \
			i, i % 3 ? "conv" : "click", i % 3 ? "conversion" : "click", 1000 + i % 500, 100000 + i, i
}

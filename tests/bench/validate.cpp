/*
 * The JSON validation that every pb tool does on every line, timed apart
 * from everything else, beside simdjson's, for the benchmark: both
 * validate each line of an NDJSON file already in memory, pb with
 * json_validate() (which also indexes the top-level members, as the
 * tools use it), simdjson with its own NDJSON reader, parse_many (which
 * also builds its tape), on the fastest kernel it finds on this CPU.
 * Prints the nanoseconds a line of each, the best of five rounds, and
 * the name of simdjson's kernel; exits 1 if the two disagree on how many
 * lines are valid.
 * usage: validate FILE
 */
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

extern "C" {
#include "json.h"
}

using line = std::pair<const char *, size_t>;
using seconds = std::chrono::duration<double>;

static std::vector<line> split_lines(const simdjson::padded_string &text)
{
	std::vector<line> lines;
	const char *p = text.data(), *end = p + text.size();
	for (const char *nl; p < end && (nl = static_cast<const char *>(memchr(p, '\n', end - p))); p = nl + 1)
		lines.emplace_back(p, nl - p);
	return lines;
}

static size_t pb_valid(const std::vector<line> &lines)
{
	struct json_index index = {};
	struct json_shape shape;
	struct json_error e;
	size_t valid = 0;
	for (const line &l : lines)
		valid += json_validate(l.first, l.second, &shape, &index, &e);
	json_index_free(&index);
	return valid;
}

static size_t simdjson_valid(const simdjson::padded_string &text)
{
	simdjson::dom::parser parser;
	simdjson::dom::document_stream docs;
	size_t valid = 0;
	if (parser.parse_many(text).get(docs) == simdjson::SUCCESS)
		for (auto doc : docs)
			valid += doc.error() == simdjson::SUCCESS;
	return valid;
}

/* The best time of five rounds of f, in seconds, and its count in *n. */
template <typename F> static double best_of_five(F f, size_t *n)
{
	double best = 1e9;
	for (int round = 0; round < 5; round++) {
		auto start = std::chrono::steady_clock::now();
		*n = f();
		best = std::min(best, seconds(std::chrono::steady_clock::now() - start).count());
	}
	return best;
}

int main(int argc, char **argv)
{
	simdjson::padded_string text;
	if (argc != 2 || simdjson::padded_string::load(argv[1]).get(text) != simdjson::SUCCESS) {
		fprintf(stderr, "usage: validate FILE\n");
		return 2;
	}
	std::vector<line> lines = split_lines(text);
	size_t pb, simd;
	double t_pb = best_of_five([&] { return pb_valid(lines); }, &pb);
	double t_simd = best_of_five([&] { return simdjson_valid(text); }, &simd);
	printf("%.0f %.0f %s\n", 1e9 * t_pb / lines.size(), 1e9 * t_simd / lines.size(),
	       simdjson::get_active_implementation()->name().c_str());
	if (pb != simd) {
		fprintf(stderr, "validate: pb finds %zu valid lines of %zu, simdjson %zu\n", pb, lines.size(), simd);
		return 1;
	}
	return 0;
}

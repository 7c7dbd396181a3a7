#ifndef PB_GATE_H
#define PB_GATE_H

/* Copies standard input to standard output, each piece only while the
 * lease in lease_path runs; returns the exit status. */
int gate_run(const char *lease_path);

#endif

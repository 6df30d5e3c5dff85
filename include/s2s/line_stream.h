/* line_stream.h - text lines from a pipe or a terminal as they come: the reader of streaming
 * `s2s translate`. The caller asks for the next chunk of whole lines; the first line is waited
 * for as long as it takes, then more lines only as long as a latency bound allows, so that a
 * line typed or piped in is answered without waiting for the end of the input, and lines that
 * arrive together still share a batch. */
#ifndef S2S_LINE_STREAM_H
#define S2S_LINE_STREAM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int fd;
    bool own_fd;     /* opened here (a path), closed by line_stream_free */
    bool eof;        /* the input has ended */
    char *buf;       /* bytes read and not yet handed out: chunk, then the rest */
    size_t len, cap; /* bytes in buf, its size */
    size_t handed;   /* bytes of the last chunk, dropped at the next call */
    char name[256];  /* for messages */
} line_stream;

/* Opens path ("-": standard input) for reading; 0 or S2S_EIO naming it. */
int line_stream_open(line_stream *s, const char *path);
void line_stream_free(line_stream *s); /* safe on a zeroed struct */

/* Whether path ("-": standard input) is a regular file, which is read whole; anything else (a
 * pipe, a terminal, a FIFO, a socket) is streamed. */
bool line_stream_is_regular(const char *path);

/* The next chunk: at most max_lines whole lines, each ending in '\n' (a last line without one
 * gets it), in *text (*size bytes, not NUL-terminated; owned by s until the next call). Blocks
 * until a line is complete or the input ends, then waits at most wait_s seconds for each
 * further line. *size 0 means the input has ended. S2S_EIO on a read error, S2S_ENOMEM. */
int line_stream_next(line_stream *s, int max_lines, double wait_s, char **text, size_t *size);

#endif

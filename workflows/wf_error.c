/* Formatting of wf_error messages. */
#include "workflows/wf_error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

void wf_error_set(struct wf_error *error, const char *format, ...)
{
    assert(format != NULL);
    if (error == NULL) {
        return;
    }
    va_list args;
    va_start(args, format);
    int written = vsnprintf(error->text, sizeof(error->text), format, args);
    va_end(args);
    assert(written >= 0);
}

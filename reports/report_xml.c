/* XML/HTML escaping for report text: names, details and commands come from user input. */
#include "reports/report_xml.h"

#include <assert.h>

void report_xml_escape(FILE *out, const char *text)
{
    assert(out != NULL);
    assert(text != NULL);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f ? '?' : *p, out);
            break;
        }
    }
}

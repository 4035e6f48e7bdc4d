/* Escaping text for XML and HTML output (shared by the JUnit and HTML reports). */
#ifndef FLOWRAFT_REPORTS_REPORT_XML_H
#define FLOWRAFT_REPORTS_REPORT_XML_H

#include <stdio.h>

/* Writes `text` with &, <, >, " and ' escaped; control characters other than tab and newline
 * (not allowed in XML 1.0) become '?'. */
void report_xml_escape(FILE *out, const char *text);

#endif

/* version.h: the program's version, recorded in captures and --version. */
#ifndef CCSTREAM_VERSION_H
#define CCSTREAM_VERSION_H
#define CCSTREAM_VERSION "0.1.0"
#endif

// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-report.c: list, scan and status print their text through
 * libdevmapper's report engine, the one behind lvs and dmsetup info -C, so
 * -o, -O (sort), -S (selection), --units, --separator, --noheadings and
 * --nameprefixes mean what they mean to lvs.
 *
 * The engine finds a field's value at an offset into the object it is
 * handed.  Each row is handed to it as r->row, whose slot[i] holds i: field
 * i's offset leads to its slot, so one report function serves every field
 * and asks the command's get function for field i of the row's object.
 * Values are copied into the engine's memory pool as they are reported, so
 * a row costs its fields' text and nothing per cell beyond it.
 *
 * The engine prints through libdevmapper's log function (LOG_WARNING, no
 * flags).  While a report call runs, velactl-dm.c hands every message to
 * report_sink(), which writes report lines to stdout (aligned ones without
 * their trailing blanks) and keeps errors for one message of our own.
 *
 * JSON stays velactl's own (schema 1: numbers as numbers, strings through
 * json_string()): libdevmapper 1.02.185 quotes every value in its JSON and
 * leaves control bytes unescaped.  -S and -O apply to it all the same: a
 * JSON report asks the engine for one column, "seq", each row's place in
 * the command's own order, sorted by -O and then by seq and filtered by -S
 * exactly as the text would be.  report_sink() reads those numbers back and
 * report_json() prints those rows, in that order, with the -o fields.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "velactl.h"

#define REPORT_OBJECT		1	/* the one object type */
#define REPORT_MAX_FIELDS	32
/* The hidden column: a row's place in the command's order. */
#define SEQ_FIELD		"seq"
/* --nameprefixes: VELA_NAME='vol' (libdevmapper upper-cases it). */
#define NAME_PREFIX		"vela_"
/* libdevmapper's flag on a message meant for stderr (help, warnings). */
#define DM_LOG_STDERR		0x80

struct report_row {
	const void *obj;
	uint32_t seq;
	unsigned char slot[REPORT_MAX_FIELDS + 1];
};

struct report {
	const char *command;
	const struct report_field *fields;
	size_t nr_fields;
	report_get_fn get;
	void *arg;
	struct report_opts o;
	struct report_row row;
	struct dm_report *rh;
	struct dm_report_object_type object_types[2];
	struct dm_report_field_type *types;		/* the fields, seq, the end */
	unsigned int shown[REPORT_MAX_FIELDS];
	size_t nr_shown;
	char unit_type;
	uint64_t unit_factor;
	bool strip;		/* aligned: lines lose their trailing blanks */
	bool help;		/* -S help: the engine's help goes to stdout */
	/* JSON: each row's object by seq, and the seqs the engine printed */
	const void **objs;
	uint32_t *order;
	size_t nr_objs, cap_objs, nr_order, cap_order;
	bool no_memory;
	char errors[1024];
	char buf[PATH_MAX];
	char text[2 * PATH_MAX];
};

static const char *const type_names[] = {
	[RT_STRING] = "string", [RT_NUMBER] = "number", [RT_SIZE] = "size",
	[RT_BOOL] = "yes/no", [RT_TIME] = "time",
};

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return v;
	p = reallocarray(v, *cap ? 2 * *cap : 64, size);
	if (p)
		*cap = *cap ? 2 * *cap : 64;
	return p;
}

/* --- what the engine prints --------------------------------------------- */

static void report_sink(int level, const char *msg, void *arg)
{
	struct report *r = arg;
	size_t len = strlen(msg);
	uint32_t *order;

	if (level == LOG_WARNING && r->o.json) {
		order = grow(r->order, &r->cap_order, r->nr_order, sizeof(*order));
		if (!order) {
			r->no_memory = true;
			return;
		}
		r->order = order;
		order[r->nr_order++] = strtoul(msg, NULL, 10);
	} else if (level == LOG_WARNING) {
		while (r->strip && len && msg[len - 1] == ' ')
			len--;
		fwrite(msg, 1, len, stdout);
		putchar('\n');
	} else if (r->help && LOG_PRI(level) == LOG_WARNING && (level & DM_LOG_STDERR)) {
		puts(strcmp(msg, " ") ? msg : "");
	} else if (LOG_PRI(level) <= LOG_ERR && strncmp(msg, "Use 'help'", 10)) {
		/* "Selection syntax error at 'x'." and the like, joined. */
		len = strlen(r->errors);
		snprintf(r->errors + len, sizeof(r->errors) - len, "%s%s%s",
			 len && r->errors[len - 1] != '.' ? "." : "", len ? " " : "", msg);
	}
}

static void capture(struct report *r, bool on)
{
	if (on)
		r->errors[0] = '\0';
	dm_log_redirect(on ? report_sink : NULL, on ? r : NULL);
}

/* --- values ---------------------------------------------------------------- */

/*
 * Text as shown: control bytes become '?', so nothing from a disk reaches
 * a terminal as an escape sequence; with --nameprefixes a quote closes and
 * reopens the value ('\''), so the line stays safe to eval.
 */
static const char *shown_text(struct report *r, const char *s)
{
	size_t i = 0;

	for (; *s && i + 5 < sizeof(r->text); s++) {
		if (*s == '\'' && r->o.nameprefixes) {
			memcpy(r->text + i, "'\\''", 4);
			i += 4;
		} else {
			r->text[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		}
	}
	r->text[i] = '\0';
	return r->text;
}

/* A size as --bytes, --units or velactl's own "1.5GiB" say. */
static const char *size_text(struct report *r, struct dm_pool *mem, uint64_t bytes)
{
	const char *s;
	size_t len;

	if (r->o.exact) {
		snprintf(r->text, sizeof(r->text), "%" PRIu64, bytes);
	} else if (r->unit_type) {
		s = dm_size_to_string(mem, bytes >> 9, r->unit_type, 1, r->unit_factor, 1,
				      DM_SIZE_UNIT);
		snprintf(r->text, sizeof(r->text), "%s", s ? s : "?");
		/* "0 " for zero in h units */
		len = strlen(r->text);
		while (len && r->text[len - 1] == ' ')
			r->text[--len] = '\0';
	} else {
		format_size(bytes, false, r->text, sizeof(r->text));
	}
	return r->text;
}

static const char *time_text(struct report *r, uint64_t seconds)
{
	time_t t = (time_t)seconds;
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(r->text, sizeof(r->text), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(r->text, sizeof(r->text), "%" PRIu64, seconds);
	return r->text;
}

static void get_value(struct report *r, unsigned int field, struct report_value *v)
{
	memset(v, 0, sizeof(*v));
	r->buf[0] = '\0';
	r->get(r->row.obj, field, v, r->buf, sizeof(r->buf), r->arg);
	if (!v->s)
		v->s = "";
}

/*
 * The engine's report function for every field: the slot it is handed
 * says which.  -S and -O see the sort value: a string's key (yes or no
 * for a boolean), a number, a size in 512-byte sectors as a double (what
 * the engine compares sizes as), a time as time_t.
 */
static int report_fn(struct dm_report *rh, struct dm_pool *mem, struct dm_report_field *field,
		     const void *data, void *private)
{
	unsigned int i = *(const unsigned char *)data;
	struct report *r = private;
	const struct report_field *f;
	struct report_value v;
	const char *text;
	uint64_t *number;
	double *sectors;
	time_t *when;
	char *shown;
	void *sort;

	if (i == r->nr_fields)
		return dm_report_field_uint32(rh, field, &r->row.seq);
	f = &r->fields[i];
	get_value(r, i, &v);
	switch (f->type) {
	case RT_STRING:
		sort = dm_pool_strdup(mem, v.null ? "-" : v.key ? v.key : v.s);
		text = shown_text(r, v.null ? "-" : v.s);
		break;
	case RT_SIZE:
		sort = sectors = dm_pool_alloc(mem, sizeof(*sectors));
		if (sectors)
			*sectors = v.null ? 0 : v.n / 512.0;
		text = v.null ? "-" : size_text(r, mem, v.n);
		break;
	case RT_TIME:
		sort = when = dm_pool_alloc(mem, sizeof(*when));
		if (when)
			*when = v.null ? 0 : (time_t)v.n;
		text = v.null ? "-" : time_text(r, v.n);
		break;
	case RT_BOOL:
		text = v.null ? "-" : v.n ? "yes" : "no";
		sort = dm_pool_strdup(mem, text);
		break;
	default:
		sort = number = dm_pool_alloc(mem, sizeof(*number));
		if (number)
			*number = v.null ? 0 : v.n;
		snprintf(r->text, sizeof(r->text), "%" PRIu64, v.n);
		text = v.null ? "-" : r->text;
		break;
	}
	shown = dm_pool_strdup(mem, text);
	if (!sort || !shown)
		return 0;
	dm_report_field_set_value(field, shown, sort);
	return 1;
}

static void *row_data(void *object)
{
	return object;
}

/* --- setting a report up ----------------------------------------------- */

/* libdevmapper's field names ignore '_' and case: so do these. */
static bool same_field(const char *id, const char *name, size_t len)
{
	for (; len && *name == '_'; name++, len--)
		;
	for (; *id; id++) {
		if (*id == '_')
			continue;
		for (; len && *name == '_'; name++, len--)
			;
		if (!len || tolower((unsigned char)*name) != *id)
			return false;
		name++, len--;
	}
	for (; len && *name == '_'; name++, len--)
		;
	return !len;
}

static int field_index(const struct report *r, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < r->nr_fields; i++)
		if (same_field(r->fields[i].id, name, len))
			return i;
	return -1;
}

static void print_field_help(const struct report *r)
{
	size_t i;

	printf("Fields of %s (-o, -O, -S):\n", r->command);
	for (i = 0; i < r->nr_fields; i++)
		printf("  %-13s %-7s %s\n", r->fields[i].id, type_names[r->fields[i].type],
		       r->fields[i].desc);
}

/* Append the fields of @spec ("a,b,c") to those shown. */
static int add_fields(struct report *r, const char *spec)
{
	const char *end;
	int i;

	for (; *spec; spec = *end ? end + 1 : end) {
		end = spec + strcspn(spec, ",");
		if (end == spec)
			continue;
		i = field_index(r, spec, end - spec);
		if (i < 0) {
			usage_error("%s: unknown field '%.*s' (see 'velactl %s -o help')",
				    r->command, (int)(end - spec), spec, r->command);
			return EXIT_USAGE;
		}
		if (r->nr_shown == REPORT_MAX_FIELDS) {
			usage_error("%s: at most %d fields", r->command, REPORT_MAX_FIELDS);
			return EXIT_USAGE;
		}
		r->shown[r->nr_shown++] = i;
	}
	return 0;
}

/* -o: the fields to show, in order; "+a,b" adds them to the default. */
static int parse_fields(struct report *r, const char *def)
{
	const char *spec = r->o.fields ? r->o.fields : def;
	int e = 0;

	if (*spec == '+')
		e = add_fields(r, def);
	if (!e)
		e = add_fields(r, *spec == '+' ? spec + 1 : spec);
	if (!e && !r->nr_shown) {
		usage_error("%s: -o wants a comma-separated list of fields", r->command);
		e = EXIT_USAGE;
	}
	return e;
}

/* -O: fields, each with an optional + (ascending, the default) or -. */
static int check_sort(struct report *r)
{
	const char *spec = r->o.sort, *end, *name;

	for (; *spec; spec = *end ? end + 1 : end) {
		end = spec + strcspn(spec, ",");
		name = spec + (*spec == '+' || *spec == '-');
		if (end == spec)
			continue;
		if (name == end || field_index(r, name, end - name) < 0) {
			usage_error("%s: -O: unknown field '%.*s' (see 'velactl %s -o help')",
				    r->command, (int)(end - name), name, r->command);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* --units: one letter, as lvs takes it (h, b, s, k, m, g, t, p, e, r; upper case for SI). */
static int parse_units(struct report *r)
{
	const char *end;

	r->unit_factor = dm_units_to_factor(r->o.units, &r->unit_type, 1, &end);
	if (strlen(r->o.units) != 1 || !r->unit_factor || *end ||
	    !strchr("hHbBsSkKmMgGtTpPeErR", r->o.units[0])) {
		usage_error("%s: --units %s: want one of h b s k m g t p e r (upper case: powers of 1000)",
			    r->command, r->o.units);
		return EXIT_USAGE;
	}
	return 0;
}

static int check_options(const char *command, const struct report_opts *o)
{
	const char *text_only = o->units ? "--units" : o->separator ? "--separator" :
				o->noheadings ? "--noheadings" :
				o->nameprefixes ? "--nameprefixes" : NULL;

	if (o->json && text_only) {
		usage_error("%s: %s is for text output; --json is always exact bytes", command,
			    text_only);
		return EXIT_USAGE;
	}
	if (o->units && o->exact) {
		usage_error("%s: --bytes and --units exclude each other", command);
		return EXIT_USAGE;
	}
	if (o->separator && !*o->separator) {
		usage_error("%s: --separator wants a string", command);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * The engine's field table: ours, then seq, then the end.  Its ids and
 * headings are arrays inside the struct, so they are written in place.
 * A record's headings are padded to one width, so its values line up.
 */
static int build_types(struct report *r)
{
	size_t i, width = 0;
	struct dm_report_field_type *t;
	uint32_t flags;

	r->types = calloc(r->nr_fields + 2, sizeof(*r->types));
	if (!r->types)
		return -ENOMEM;
	for (i = 0; i < r->nr_fields; i++) {
		if (strlen(r->fields[i].heading) > width)
			width = strlen(r->fields[i].heading);
	}
	for (i = 0; i <= r->nr_fields; i++) {
		t = &r->types[i];
		/*
		 * Numbers and sizes carry their type alone: the engine parses a
		 * selection value (1g) only for flags equal to the type.  They
		 * align right; the rest left.  Yes and no are strings.
		 */
		flags = DM_REPORT_FIELD_TYPE_NUMBER;
		if (i < r->nr_fields && r->fields[i].type == RT_SIZE)
			flags = DM_REPORT_FIELD_TYPE_SIZE;
		else if (i < r->nr_fields && r->fields[i].type == RT_TIME)
			flags = DM_REPORT_FIELD_TYPE_TIME | DM_REPORT_FIELD_ALIGN_LEFT;
		else if (i < r->nr_fields && r->fields[i].type != RT_NUMBER)
			flags = DM_REPORT_FIELD_TYPE_STRING | DM_REPORT_FIELD_ALIGN_LEFT;
		memcpy(t, &(struct dm_report_field_type){
			.type = REPORT_OBJECT,
			.flags = flags,
			.offset = offsetof(struct report_row, slot) + i,
			.report_fn = report_fn,
			.desc = i < r->nr_fields ? r->fields[i].desc :
				"the row's place in the default order",
		}, sizeof(*t));
		snprintf((char *)t->id, sizeof(t->id), "%s",
			 i < r->nr_fields ? r->fields[i].id : SEQ_FIELD);
		snprintf((char *)t->heading, sizeof(t->heading), "%-*s",
			 r->o.record ? (int)width + 1 : 0,
			 i < r->nr_fields ? r->fields[i].heading : "SEQ");
		t->width = strlen(t->heading);
		r->row.slot[i] = i;
	}
	return 0;
}

/* The engine's -o and -O strings, with seq: the order ties fall back to. */
static int engine_strings(struct report *r, char **fields, char **keys)
{
	size_t i, len = 0;
	int n;

	*fields = NULL;
	for (i = 0; i < r->nr_shown; i++)
		len += strlen(r->fields[r->shown[i]].id) + 1;
	*fields = malloc(len + sizeof(SEQ_FIELD));
	if (!*fields)
		return -ENOMEM;
	len = 0;
	for (i = 0; !r->o.json && i < r->nr_shown; i++)
		len += sprintf(*fields + len, "%s%s", i ? "," : "", r->fields[r->shown[i]].id);
	if (r->o.json)
		strcpy(*fields, SEQ_FIELD);
	*keys = NULL;
	if (r->o.record)
		return 0;
	n = asprintf(keys, "%s%s" SEQ_FIELD, r->o.sort ? r->o.sort : "",
		     r->o.sort && *r->o.sort ? "," : "");
	return n < 0 ? -ENOMEM : 0;
}

static uint32_t output_flags(struct report *r, const char **separator)
{
	const struct report_opts *o = &r->o;
	uint32_t flags = DM_REPORT_OUTPUT_BUFFERED;

	*separator = o->separator ? o->separator : o->tabs ? "\t" : o->nameprefixes ? " " : "  ";
	if (o->json) {
		*separator = "";
		return flags;
	}
	if (o->record) {
		*separator = "";
		r->strip = true;
		return flags | DM_REPORT_OUTPUT_HEADINGS | DM_REPORT_OUTPUT_COLUMNS_AS_ROWS;
	}
	if (!o->noheadings && !o->tabs && !o->nameprefixes)
		flags |= DM_REPORT_OUTPUT_HEADINGS;
	if (o->nameprefixes)
		flags |= DM_REPORT_OUTPUT_FIELD_NAME_PREFIX;
	if (!o->separator && !o->tabs && !o->nameprefixes) {
		flags |= DM_REPORT_OUTPUT_ALIGNED;
		r->strip = true;
	}
	return flags;
}

int report_open(struct report **rp, const char *command, const struct report_field *fields,
		size_t n, const char *default_fields, const struct report_opts *o,
		report_get_fn get, void *arg)
{
	char *engine_fields = NULL, *keys = NULL;
	uint32_t type = REPORT_OBJECT, flags;
	const char *separator;
	struct report *r;
	int e;

	*rp = NULL;
	e = check_options(command, o);
	if (e)
		return e;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(EXIT_FAILURE, "out of memory");
	r->command = command;
	r->fields = fields;
	r->nr_fields = n < REPORT_MAX_FIELDS ? n : REPORT_MAX_FIELDS;
	r->get = get;
	r->arg = arg;
	r->o = *o;
	if (r->o.fields && !strcmp(r->o.fields, "help")) {
		print_field_help(r);
		report_close(r);
		return 0;
	}
	e = parse_fields(r, default_fields);
	if (!e && r->o.sort)
		e = check_sort(r);
	if (!e && r->o.units)
		e = parse_units(r);
	if (e) {
		report_close(r);
		return e;
	}
	if (build_types(r) || engine_strings(r, &engine_fields, &keys)) {
		free(engine_fields);
		report_close(r);
		return fail(EXIT_FAILURE, "out of memory");
	}
	r->object_types[0] = (struct dm_report_object_type){
		.id = REPORT_OBJECT, .desc = command, .prefix = "", .data_fn = row_data,
	};
	r->help = r->o.select && (!strcasecmp(r->o.select, "help") || !strcmp(r->o.select, "?"));
	flags = output_flags(r, &separator);
	capture(r, true);
	r->rh = dm_report_init_with_selection(&type, r->object_types, r->types, engine_fields,
					      separator, flags, keys, r->o.select, NULL, r);
	capture(r, false);
	free(engine_fields);
	free(keys);
	if (!r->rh || r->help) {
		e = r->help ? 0 : EXIT_USAGE;
		if (!r->help && r->o.select)
			usage_error("%s: -S '%s': %s", command, r->o.select,
				    r->errors[0] ? r->errors : "not a selection");
		else if (!r->help)
			e = fail(EXIT_FAILURE, "%s: cannot set up the report: %s", command,
				 r->errors[0] ? r->errors : "out of memory");
		report_close(r);
		return e;
	}
	if (r->o.nameprefixes && !dm_report_set_output_field_name_prefix(r->rh, NAME_PREFIX)) {
		report_close(r);
		return fail(EXIT_FAILURE, "out of memory");
	}
	*rp = r;
	return 0;
}

/* --- rows and output ------------------------------------------------------ */

int report_add(struct report *r, const void *obj)
{
	const void **objs;
	int ok;

	if (r->o.json) {
		objs = grow(r->objs, &r->cap_objs, r->nr_objs, sizeof(*objs));
		if (!objs)
			return fail(EXIT_FAILURE, "out of memory");
		r->objs = objs;
		objs[r->nr_objs] = obj;
	}
	r->row.obj = obj;
	r->row.seq = r->nr_objs++;
	capture(r, true);
	ok = dm_report_object(r->rh, &r->row);
	capture(r, false);
	if (!ok)
		return fail(EXIT_FAILURE, "%s: cannot report a row: %s", r->command,
			    r->errors[0] ? r->errors : "out of memory");
	return 0;
}

int report_print(struct report *r)
{
	int ok;

	capture(r, true);
	/* Nothing selected still shows the headings. */
	ok = !dm_report_is_empty(r->rh) || dm_report_column_headings(r->rh);
	if (ok)
		ok = dm_report_output(r->rh);
	capture(r, false);
	fflush(stdout);
	if (!ok)
		return fail(EXIT_FAILURE, "%s: cannot print the report: %s", r->command,
			    r->errors[0] ? r->errors : "out of memory");
	return 0;
}

static void json_value(struct report *r, unsigned int field)
{
	struct report_value v;

	get_value(r, field, &v);
	if (v.null)
		fputs("null", stdout);
	else if (r->fields[field].type == RT_STRING)
		json_string(v.s);
	else if (r->fields[field].type == RT_BOOL)
		fputs(v.n ? "true" : "false", stdout);
	else
		printf("%" PRIu64, v.n);
}

int report_json(struct report *r)
{
	size_t i, j;
	int ok;

	capture(r, true);
	ok = dm_report_output(r->rh);
	capture(r, false);
	if (!ok || r->no_memory)
		return fail(EXIT_FAILURE, "%s: cannot sort and select the rows: %s", r->command,
			    r->errors[0] ? r->errors : "out of memory");
	putchar('[');
	for (i = 0; i < r->nr_order; i++) {
		if (r->order[i] >= r->nr_objs)
			continue;
		r->row.obj = r->objs[r->order[i]];
		printf("%s\n  {", i ? "," : "");
		for (j = 0; j < r->nr_shown; j++) {
			printf("%s\"%s\": ", j ? ", " : "", r->fields[r->shown[j]].id);
			json_value(r, r->shown[j]);
		}
		putchar('}');
	}
	printf("%s]", r->nr_order ? "\n" : "");
	return 0;
}

void report_close(struct report *r)
{
	if (!r)
		return;
	if (r->rh)
		dm_report_free(r->rh);
	free(r->types);
	free(r->objs);
	free(r->order);
	free(r);
}

static int pool_order(const void *a, const void *b)
{
	const struct pool *p = a, *q = b;
	int c = strcmp(p->name, q->name);

	return c ? c : strcmp(p->meta_path, q->meta_path);
}

void report_sort_pools(struct pool *pools, size_t n)
{
	if (n > 1)
		qsort(pools, n, sizeof(*pools), pool_order);
}

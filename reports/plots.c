/*
 * plots.c — the report's gnuplot figures. For each plot it writes NAME.dat and NAME.gp into
 * DIR/plots/ and runs gnuplot on the script (pngcairo, then svg; `unset output` flushes each):
 * horizontal bars of the headline metrics' oriented % of native with CI whiskers, host memory
 * per VM (whiskers only where a CI exists), and (several runs) small multiples of each
 * headline metric's median over the runs. Figures are driven by the metric model (role,
 * comparison, area), never by metric names.
 * gnuplot runs as a child in its own process group with a deadline; it is killed and reaped
 * on every path.
 */
#include "rep_int.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GNUPLOT_TIMEOUT_S 60.0

/*
 * Runs `gnuplot NAME.gp` in workdir (a fresh directory of ours: nothing there can be a planted
 * symlink); gnuplot's stderr goes to NAME.log there. logdir is where the log ends up (for the
 * message).
 */
static int run_gnuplot(const char *workdir, const char *logdir, const char *name, struct hb_err *e)
{
	char gp[64], log[64];
	double deadline = hb_now() + GNUPLOT_TIMEOUT_S;
	pid_t pid;
	int st = 0;

	snprintf(gp, sizeof(gp), "%s.gp", name);
	snprintf(log, sizeof(log), "%s.log", name);
	pid = fork();
	if (pid < 0)
		return hb_err_errno(e, HB_EIO, "gnuplot: fork");
	if (pid == 0) {
		int fd;

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir(workdir))
			_exit(126);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			close(fd);
		}
		fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execlp("gnuplot", "gnuplot", gp, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return hb_err_errno(e, HB_EIO, "gnuplot %s: waitpid", gp);
		}
		if (hb_now() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return hb_err_set(e, HB_ETIMEDOUT, "gnuplot %s: no result within %.0f s",
					  gp, GNUPLOT_TIMEOUT_S);
		}
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return hb_err_set(e, HB_EUNSUPP, "gnuplot could not be started (not installed?)");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return hb_err_set(e, HB_ECHILD, "gnuplot %s failed (status %d); see %s/%s", gp,
				  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), logdir,
				  log);
	return 0;
}

/* A growing text buffer for one data file or script. */
struct sbuf {
	char *p;
	size_t len;
	FILE *f;
};

static int sb_open(struct sbuf *s)
{
	memset(s, 0, sizeof(*s));
	s->f = open_memstream(&s->p, &s->len);
	return s->f ? 0 : HB_ENOMEM;
}

static void sb_free(struct sbuf *s)
{
	if (s->f)
		fclose(s->f);
	free(s->p);
	memset(s, 0, sizeof(*s));
}

static int sb_save(struct sbuf *s, const char *dir, const char *file, struct hb_err *e)
{
	char path[PATH_MAX];

	if (fclose(s->f)) {
		s->f = NULL;
		return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
	}
	s->f = NULL;
	if (hb_snprintf(path, sizeof(path), "%s/%s", dir, file))
		return hb_err_set(e, HB_EINVAL, "%s/%s: path too long", dir, file);
	return hb_write_atomic(path, s->p, s->len, 0644, e);
}

/* A gnuplot string literal in single quotes (a quote is doubled). */
static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		if (*s != '\n')
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* A data-file string in double quotes (quotes replaced). */
static void dat_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' ? '\'' : *s, f);
	fputc('"', f);
}

static void col_name(const struct hb_rep *r, const struct hb_rep_col *c, char *buf, size_t len)
{
	char l[256];

	hb_rep_col_label(r, c, l, sizeof(l));
	snprintf(buf, len, "%s%s", l, c->emulated ? " (TCG)" : "");
}

/* Settings every figure shares; the plot commands follow in the body. */
static void gp_common(FILE *f, const char *title)
{
	fputs("set title ", f);
	gp_str(f, title);
	fputs("\nset border 3\nset tics nomirror\nset datafile missing 'NaN'\n", f);
}

/* Does the image end as a whole one does (PNG: the IEND chunk; SVG: the closing tag)? */
static int image_complete(int fd, const struct stat *st, const char *ext)
{
	static const char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', '\xae', 'B', '`', '\x82'};
	char tail[65] = "";
	size_t n = st->st_size < 64 ? (size_t)st->st_size : 64;

	if (pread(fd, tail, n, st->st_size - (off_t)n) != (ssize_t)n)
		return 0;
	tail[n] = '\0';
	if (!strcmp(ext, "png"))
		return n >= 12 && !memcmp(tail + n - 12, iend, 12);
	return strstr(tail, "</svg>") != NULL;
}

/* 0 when workdir/NAME.ext is a complete regular file on disk (synced; non-empty if need_data). */
static int output_ok(const char *workdir, const char *name, const char *ext, int need_data,
		     struct hb_err *e)
{
	char from[PATH_MAX];
	struct stat st;
	int fd, rc = 0;

	if (hb_snprintf(from, sizeof(from), "%s/%s.%s", workdir, name, ext))
		return hb_err_set(e, HB_EINVAL, "%s: path too long", workdir);
	fd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hb_err_errno(e, HB_EIO, "gnuplot wrote no %s.%s", name, ext);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (need_data && st.st_size == 0))
		rc = hb_err_set(e, HB_EIO, "gnuplot wrote an empty %s.%s (disk full?)", name, ext);
	else if (need_data && !image_complete(fd, &st, ext))
		rc = hb_err_set(e, HB_EIO, "gnuplot wrote a truncated %s.%s (disk full?)", name,
				ext);
	else if (fsync(fd))
		rc = hb_err_errno(e, HB_EIO, "cannot write %s.%s", name, ext);
	close(fd);
	return rc;
}

/* rename replaces whatever is at the destination (a planted symlink too) without following it */
static int move_out(const char *workdir, const char *plotdir, const char *name, const char *ext,
		    struct hb_err *e)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (hb_snprintf(from, sizeof(from), "%s/%s.%s", workdir, name, ext) ||
	    hb_snprintf(to, sizeof(to), "%s/%s.%s", plotdir, name, ext))
		return hb_err_set(e, HB_EINVAL, "%s: path too long", plotdir);
	if (rename(from, to))
		return hb_err_errno(e, HB_EIO, "cannot rename %s to %s", from, to);
	return 0;
}

/*
 * Writes NAME.dat and NAME.gp and runs gnuplot, all in a fresh directory inside plotdir; then
 * moves the results into plotdir once all are complete. A failure leaves no partial file in
 * plotdir (only the gnuplot log, to read why). The script draws the body twice, into NAME.png
 * (pngcairo) and NAME.svg, so multiplot figures need no replot.
 */
static int finish_plot(const char *plotdir, struct hb_rep_plots *out, const char *name,
		       const char *title, struct sbuf *dat, struct sbuf *body, int width,
		       int height, struct hb_err *e)
{
	static const char *terms[][2] = {{"pngcairo", "png"}, {"svg", "svg"}};
	static const char *const outputs[] = {"png", "svg", "dat", "gp", "log"};
	struct hb_rep_plot *p;
	struct sbuf gp;
	char file[64], work[PATH_MAX] = "";
	size_t i;
	int rc;

	if (out->n >= HB_REP_MAX_PLOTS)
		return 0;
	if (fclose(body->f)) {
		body->f = NULL;
		return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
	}
	body->f = NULL;
	if (sb_open(&gp))
		return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
	fprintf(gp.f, "# generated by hvbench: draws %s.png and %s.svg from %s.dat\n", name, name,
		name);
	for (size_t t = 0; t < HB_ARRAY_SIZE(terms); t++) {
		fprintf(gp.f,
			"reset\nset terminal %s size %d,%d noenhanced font 'DejaVu Sans,10'%s\n"
			"set output '%s.%s'\n",
			terms[t][0], width, height, t ? " background '#ffffff'" : "", name,
			terms[t][1]);
		fwrite(body->p, 1, body->len, gp.f);
		fputs("unset multiplot\nunset output\n", gp.f);
	}
	p = &out->p[out->n++];
	hb_strlcpy(p->name, name, sizeof(p->name));
	hb_strlcpy(p->title, title, sizeof(p->title));
	if (hb_snprintf(work, sizeof(work), "%s/.%s.XXXXXX", plotdir, name)) {
		rc = hb_err_set(e, HB_EINVAL, "%s: path too long", plotdir);
		work[0] = '\0';
		goto out;
	}
	if (!mkdtemp(work)) {
		rc = hb_err_errno(e, HB_EIO, "cannot create a work directory in %s", plotdir);
		work[0] = '\0';
		goto out;
	}
	snprintf(file, sizeof(file), "%s.dat", name);
	if ((rc = sb_save(dat, work, file, e)))
		goto out;
	snprintf(file, sizeof(file), "%s.gp", name);
	if ((rc = sb_save(&gp, work, file, e)))
		goto out;
	if ((rc = run_gnuplot(work, plotdir, name, e))) {
		move_out(work, plotdir, name, "log", &(struct hb_err){0});
		goto out;
	}
	for (i = 0; i < HB_ARRAY_SIZE(outputs) && !rc; i++)
		rc = output_ok(work, name, outputs[i], i < 2, e);
	for (i = 0; i < HB_ARRAY_SIZE(outputs) && !rc; i++)
		rc = move_out(work, plotdir, name, outputs[i], e);
	if (!rc)
		p->ok = 1;
out:
	if (work[0])
		hb_rmtree(work);
	sb_free(&gp);
	return rc;
}

static int open_pair(struct sbuf *dat, struct sbuf *gp, struct hb_err *e)
{
	if (sb_open(dat))
		return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
	if (sb_open(gp)) {
		sb_free(dat);
		return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
	}
	return 0;
}

static const char *area_word(int area)
{
	static const char *w[HB_AREA_COUNT] = {"Storage",     "Network",       "Memory",
					       "CPU",	      "Latency",       "Boot",
					       "Host memory", "Host CPU cost", "Diagnostic"};

	return area >= 0 && area < HB_AREA_COUNT ? w[area] : "Diagnostic";
}

/*
 * Horizontal bars: oriented relative performance (% of native, > 100% better) of every headline
 * ratio metric (y axis, labelled, grouped by area) and compared column (one colour each), CI
 * whiskers, a dashed line at 100%.
 */
static int plot_headline(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
			 struct hb_err *e)
{
	struct sbuf dat, gp;
	char label[300], cn[256];
	size_t nser = 0, nrow = 0, *ser, *rows;
	double xmax = 110, bh;
	int rc = 0, height;

	ser = calloc(r->ncols + 1, sizeof(*ser));
	rows = calloc(r->nrows + 1, sizeof(*rows));
	if (!ser || !rows) {
		rc = hb_err_set(e, HB_ENOMEM, "plots: out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < r->nrows; i++) {
		int any = 0;

		if (r->rows[i].role != HB_ROLE_HEADLINE || r->rows[i].cmp != HB_CMP_RATIO)
			continue;
		for (size_t j = 0; j < r->ncols; j++)
			any |= hb_rep_cell(r, i, j)->has_cmp;
		if (any)
			rows[nrow++] = i;
	}
	for (size_t j = 0; j < r->ncols; j++) {
		int any = 0;

		for (size_t k = 0; k < nrow; k++)
			any |= hb_rep_cell(r, rows[k], j)->has_cmp;
		if (any)
			ser[nser++] = j;
	}
	if (!nrow || !nser)
		goto out_free;
	if ((rc = open_pair(&dat, &gp, e)))
		goto out_free;
	bh = 0.8 / (double)nser;
	/* one data block per series: y, %, CI lo, CI hi, label x */
	for (size_t k = 0; k < nser; k++) {
		col_name(r, &r->cols[ser[k]], cn, sizeof(cn));
		fprintf(dat.f, "# %s: y\t%%\tlo\thi\n", cn);
		for (size_t q = 0; q < nrow; q++) {
			const struct hb_rep_cell *c = hb_rep_cell(r, rows[q], ser[k]);
			/* first row on top; series top to bottom in legend order */
			double y = (double)(nrow - 1 - q) +
				   ((double)(nser - 1) / 2.0 - (double)k) * bh;

			if (c->has_cmp && isfinite(c->oriented)) {
				double v = c->oriented * 100,
				       lo = isfinite(c->olo) ? c->olo * 100 : v;
				double hi = isfinite(c->ohi) ? c->ohi * 100 : v;

				if (hi > xmax)
					xmax = hi;
				fprintf(dat.f, "%.4f\t%.6g\t%.6g\t%.6g\n", y, v, lo, hi);
			} else {
				fprintf(dat.f, "%.4f\tNaN\tNaN\tNaN\n", y);
			}
		}
		fputs("\n\n", dat.f);
	}
	xmax = xmax > 1000 ? 1000 : xmax * 1.12;
	height = 150 + (int)nrow * (int)(nser * 22 > 44 ? nser * 22 : 44);
	gp_common(gp.f, "Relative performance, headline metrics (% of native, > 100% is better)");
	fprintf(gp.f,
		"set xrange [0:%.0f]\nset yrange [-0.6:%zu.6]\nset xlabel '%% of native "
		"(oriented: > 100%% is better)'\nset format x '%%g%%%%'\n"
		"set grid xtics lc rgb '#dddddd'\nset ytics scale 0 (",
		xmax, nrow - 1);
	for (size_t q = 0; q < nrow; q++) {
		const struct hb_rep_row *row = &r->rows[rows[q]];

		/* as in the at-a-glance table: a target-level row (its workload is its kind) has
		 * no workload name */
		if (row->name_is_kind)
			snprintf(label, sizeof(label), "%s: %s", area_word(row->area), row->metric);
		else
			snprintf(label, sizeof(label), "%s: %s %s", area_word(row->area),
				 row->workload, row->metric);
		fputs(q ? ", " : "", gp.f);
		gp_str(gp.f, label);
		fprintf(gp.f, " %zu", nrow - 1 - q);
	}
	fprintf(gp.f, ")\nset arrow from 100, graph 0 to 100, graph 1 nohead dt 2 lw 1.5 lc rgb "
		      "'#333333' front\nset key outside bottom center horizontal\nset bmargin 6\n"
		      "set style fill solid 0.8 border -1\nplot ");
	for (size_t k = 0; k < nser; k++) {
		col_name(r, &r->cols[ser[k]], cn, sizeof(cn));
		fprintf(gp.f,
			"%s'headline.dat' index %zu using ($2/2):1:($2/2):(%.4f) with boxxyerror "
			"lc "
			"%zu title ",
			k ? ", " : "", k, bh / 2 * 0.9, k + 1);
		gp_str(gp.f, cn);
		fprintf(gp.f,
			", 'headline.dat' index %zu using 2:1:3:4 with xerrorbars pt -1 lw 1.2 lc "
			"rgb '#222222' notitle"
			", 'headline.dat' index %zu using (($4 > $2 ? $4 : $2) + %.3g):1:"
			"(sprintf('%%.1f%%%%', $2)) with labels left font ',9' notitle",
			k, k, xmax / 100);
	}
	fputc('\n', gp.f);
	rc = finish_plot(plotdir, out, "headline",
			 "Headline metrics: relative performance per target (% of native, > 100% "
			 "is better; whiskers: 95% CI; dashed line: native)",
			 &dat, &gp, 1100, height, e);
	sb_free(&dat);
	sb_free(&gp);
out_free:
	free(ser);
	free(rows);
	return rc;
}

/* Bars: the host-memory rows (area overhead, MiB, not diagnostics) per VM column; whiskers
 * only where a figure has more than one sample (a CI exists). */
static int plot_memory(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
		       struct hb_err *e)
{
	struct sbuf dat, gp;
	char cn[256], title[200];
	size_t rows[8], nm = 0, nvm = 0;
	int rc, any_ci = 0;

	for (size_t i = 0; i < r->nrows && nm < HB_ARRAY_SIZE(rows); i++)
		if (r->rows[i].area == HB_AREA_OVERHEAD && r->rows[i].role != HB_ROLE_DIAGNOSTIC &&
		    !strcmp(r->rows[i].unit, "MiB"))
			rows[nm++] = i;
	if (!nm)
		return 0;
	if ((rc = open_pair(&dat, &gp, e)))
		return rc;
	fputs("# target", dat.f);
	for (size_t k = 0; k < nm; k++)
		fprintf(dat.f, "\t%s(MiB)\tlo\thi", r->rows[rows[k]].metric);
	fputc('\n', dat.f);
	for (size_t j = 0; j < r->ncols; j++) {
		int any = 0;

		for (size_t k = 0; k < nm; k++)
			any |= hb_rep_cell(r, rows[k], j)->res != NULL;
		if (!any || !hb_rep_col_is_vm(&r->cols[j]))
			continue;
		nvm++;
		col_name(r, &r->cols[j], cn, sizeof(cn));
		dat_str(dat.f, cn);
		for (size_t k = 0; k < nm; k++) {
			const struct hb_rep_cell *c = hb_rep_cell(r, rows[k], j);
			int ci = c->n > 1 && isfinite(c->ci_lo) && isfinite(c->ci_hi);

			any_ci |= ci;
			if (c->res && isfinite(c->median))
				fprintf(dat.f, "\t%.6g\t%.6g\t%.6g", c->median,
					ci ? c->ci_lo : c->median, ci ? c->ci_hi : c->median);
			else
				fputs("\tNaN\tNaN\tNaN", dat.f);
		}
		fputc('\n', dat.f);
	}
	if (!nvm) {
		sb_free(&dat);
		sb_free(&gp);
		return 0;
	}
	snprintf(title, sizeof(title), "Host memory per VM, MiB (median%s)",
		 any_ci ? "; whiskers: 95% CI where n > 1" : "; one measurement per VM, no CI");
	gp_common(gp.f, title);
	fputs("set grid ytics lc rgb '#dddddd'\nset style data histograms\n"
	      "set style histogram errorbars gap 2 lw 1.2\nset style fill solid 0.8 border -1\n"
	      "set boxwidth 0.9\nset ylabel 'MiB'\nset yrange [0:*]\nset xtics scale 0\n"
	      "set key outside bottom center horizontal\nplot ",
	      gp.f);
	for (size_t k = 0; k < nm; k++) {
		fprintf(gp.f, "%s'memory.dat' using %zu:%zu:%zu%s title ", k ? ", " : "", 2 + 3 * k,
			3 + 3 * k, 4 + 3 * k, k ? "" : ":xtic(1)");
		gp_str(gp.f, r->rows[rows[k]].metric);
	}
	fputs(", 'memory.dat' using 0:2:(sprintf('%.0f', $2)) with labels offset 0,0.8 notitle\n",
	      gp.f);
	rc = finish_plot(plotdir, out, "memory", title, &dat, &gp, 900, 520, e);
	sb_free(&dat);
	sb_free(&gp);
	return rc;
}

/* Small multiples: one panel per headline metric, its median over the runs, one line per
 * target name (a target is followed across runs). */
static int plot_trend(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
		      struct hb_err *e)
{
	struct sbuf dat, gp;
	char label[300], cn[128];
	size_t rows[HB_REP_MAX_PLOTS * 2], nrow = 0, block = 0, ncol, nlines;
	int rc;

	if (r->nruns < 2)
		return 0;
	for (size_t i = 0; i < r->nrows && nrow < HB_ARRAY_SIZE(rows); i++)
		if (r->rows[i].role == HB_ROLE_HEADLINE)
			rows[nrow++] = i;
	if (!nrow)
		return 0;
	if ((rc = open_pair(&dat, &gp, e)))
		return rc;
	ncol = nrow < 3 ? nrow : 3;
	nlines = (nrow + ncol - 1) / ncol;
	gp_common(gp.f, "");
	fprintf(gp.f, "set grid ytics lc rgb '#dddddd'\nset xrange [-0.3:%zu.3]\nset xtics (",
		r->nruns - 1);
	for (size_t k = 0; k < r->nruns; k++) {
		char nm[128];
		const char *lab = r->opts.labels ? r->opts.labels[k] : NULL;

		if (lab)
			hb_strlcpy(nm, lab, sizeof(nm));
		else
			snprintf(nm, sizeof(nm), "%zu", k + 1);
		fputs(k ? ", " : "", gp.f);
		gp_str(gp.f, nm);
		fprintf(gp.f, " %zu", k);
	}
	fprintf(gp.f,
		")\nset key top right font ',8' samplen 1.5\nset multiplot layout %zu,%zu "
		"title 'Headline metrics over the runs (median; one line per target)'\n",
		nlines, ncol);
	for (size_t q = 0; q < nrow; q++) {
		const struct hb_rep_row *row = &r->rows[rows[q]];
		size_t first_block = block;

		snprintf(label, sizeof(label), "%s %s (%s)", row->workload, row->metric, row->unit);
		for (size_t j = 0; j < r->ncols; j++) {
			const char *tname = r->cols[j].target;
			size_t pts = 0;
			int seen = 0;

			for (size_t jj = 0; jj < j; jj++)
				seen |= !strcmp(r->cols[jj].target, tname);
			if (seen || r->cols[j].is_baseline)
				continue;
			fprintf(dat.f, "# %s: %s\n", label, tname);
			for (size_t jj = j; jj < r->ncols; jj++) {
				const struct hb_rep_cell *c = hb_rep_cell(r, rows[q], jj);

				if (strcmp(r->cols[jj].target, tname) || r->cols[jj].is_baseline ||
				    !c->res || !isfinite(c->median))
					continue;
				fprintf(dat.f, "%zu\t%.6g\n", r->cols[jj].run, c->median);
				pts++;
			}
			if (!pts)
				fputs("0\tNaN\n", dat.f);
			fputs("\n\n", dat.f);
			block++;
		}
		fputs("set title ", gp.f);
		gp_str(gp.f, label);
		fputs("\nplot ", gp.f);
		for (size_t b = first_block, s = 0; b < block; b++, s++) {
			size_t jj = 0, cnt = 0;

			/* the target name of the s-th distinct series */
			for (size_t j = 0; j < r->ncols; j++) {
				int seen = 0;

				for (size_t k = 0; k < j; k++)
					seen |= !strcmp(r->cols[k].target, r->cols[j].target);
				if (seen || r->cols[j].is_baseline)
					continue;
				if (cnt++ == s) {
					jj = j;
					break;
				}
			}
			hb_strlcpy(cn, r->cols[jj].target, sizeof(cn));
			fprintf(gp.f,
				"%s'trend.dat' index %zu using 1:2 with linespoints lw 1.5 pt 7 "
				"lc %zu title ",
				b > first_block ? ", " : "", b, s + 1);
			gp_str(gp.f, cn);
		}
		fputc('\n', gp.f);
	}
	rc = finish_plot(plotdir, out, "trend",
			 "Trend: each headline metric's median over the runs, one panel per "
			 "metric, one line per target",
			 &dat, &gp, 1200, 60 + 300 * (int)nlines, e);
	sb_free(&dat);
	sb_free(&gp);
	return rc;
}

int hb_rep_plots(const struct hb_rep *r, const char *plotdir, struct hb_rep_plots *out,
		 struct hb_err *e)
{
	int (*const fns[])(const struct hb_rep *, const char *, struct hb_rep_plots *,
			   struct hb_err *) = {plot_headline, plot_memory, plot_trend,
					       hb_rep_capacity_plots};
	int rc, first = 0;

	memset(out, 0, sizeof(*out));
	if (!hb_in_path("gnuplot")) {
		snprintf(out->why, sizeof(out->why),
			 "No plots: gnuplot was not found in PATH (install gnuplot-nox and run "
			 "`hvbench report` again).");
		return hb_err_set(e, HB_EUNSUPP, "gnuplot not found in PATH: no plots drawn");
	}
	if ((rc = hb_mkdirs(plotdir, 0755, e)))
		return rc;
	{
		struct stat st;
		if (lstat(plotdir, &st) || !S_ISDIR(st.st_mode))
			return hb_err_set(e, HB_EIO, "%s is not a directory (a symlink?): no plots",
					  plotdir);
	}
	for (size_t i = 0; i < HB_ARRAY_SIZE(fns); i++) {
		struct hb_err pe = {0};

		rc = fns[i](r, plotdir, out, &pe);
		if (rc && !first) {
			first = rc;
			hb_err_set(e, rc, "%s", pe.msg);
			snprintf(out->why, sizeof(out->why), "Some plots are missing: %s", pe.msg);
		}
	}
	if (!out->n && !first)
		snprintf(out->why, sizeof(out->why), "No plots: the results hold no data to plot.");
	return first;
}

int hb_rep_plot_script(const char *plotdir, struct hb_rep_plots *out, const char *name,
		       const char *title, const char *data, const char *body, int width, int height,
		       struct hb_err *e)
{
	struct sbuf dat, gp;
	int rc;

	if (sb_open(&dat) || sb_open(&gp)) {
		sb_free(&dat);
		return hb_err_set(e, HB_ENOMEM, "plots: out of memory");
	}
	fputs(data, dat.f);
	/* finish_plot sets the terminals and outputs; the figure's own frame goes here */
	fputs("set title ", gp.f);
	gp_str(gp.f, title);
	fputs("\nset grid ytics lc rgb '#dddddd'\nset border 3\nset tics nomirror\n", gp.f);
	fputs(body, gp.f);
	rc = finish_plot(plotdir, out, name, title, &dat, &gp, width, height, e);
	sb_free(&dat);
	sb_free(&gp);
	return rc;
}

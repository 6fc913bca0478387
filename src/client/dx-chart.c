#include "dx-config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "dx-chart.h"
#include "dx-transport.h"

#define DX_CHART_SPAN_MS 120000
#define DX_CHART_MAX_POINTS 4096
#define DX_CHART_MIN_MS 0.1
#define DX_CHART_MAX_MS 10000.0

typedef struct {
  gint64 t; /* monotonic ms */
  double ms;
  guint mode;
} Point;

struct _DxChart {
  GtkWidget parent_instance;
  GArray *points; /* Point, oldest first */
  GArray *marks;  /* Point (ms unused) */
  guint tick;
};

G_DEFINE_FINAL_TYPE (DxChart, dx_chart, GTK_TYPE_WIDGET)

static gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

static void
trim (GArray *a, gint64 oldest)
{
  guint n = 0;

  while (n < a->len && g_array_index (a, Point, n).t < oldest)
    n++;
  if (n > 0)
    g_array_remove_range (a, 0, n);
}

void
dx_chart_add_sample (DxChart *self, guint mode, double latency_ms)
{
  Point p = { now_ms (), latency_ms, mode };

  g_array_append_val (self->points, p);
  if (self->points->len > DX_CHART_MAX_POINTS)
    g_array_remove_range (self->points, 0, self->points->len - DX_CHART_MAX_POINTS);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dx_chart_add_mark (DxChart *self, guint mode)
{
  Point p = { now_ms (), 0, mode };

  g_array_append_val (self->marks, p);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dx_chart_clear (DxChart *self)
{
  g_array_set_size (self->points, 0);
  g_array_set_size (self->marks, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
dx_chart_get_n_samples (DxChart *self)
{
  return self->points->len;
}

static void
set_color (cairo_t *cr, const char *spec, double alpha)
{
  GdkRGBA c;

  gdk_rgba_parse (&c, spec);
  cairo_set_source_rgba (cr, c.red, c.green, c.blue, alpha);
}

static double
y_of (double ms, double top, double height)
{
  double v = log10 (CLAMP (ms, DX_CHART_MIN_MS, DX_CHART_MAX_MS));
  double lo = log10 (DX_CHART_MIN_MS), hi = log10 (DX_CHART_MAX_MS);
  return top + height * (1.0 - (v - lo) / (hi - lo));
}

static void
draw_text (DxChart *self, cairo_t *cr, double x, double y, const char *text, const GdkRGBA *fg)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoFontDescription *font = pango_font_description_from_string ("Sans 8");

  pango_layout_set_font_description (layout, font);
  cairo_move_to (cr, x, y);
  gdk_cairo_set_source_rgba (cr, fg);
  pango_cairo_show_layout (cr, layout);
  pango_font_description_free (font);
  g_object_unref (layout);
}

static void
dx_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DxChart *self = DX_CHART (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  double left = 44, right = 8, top = 8, bottom = 18;
  double pw = w - left - right, ph = h - top - bottom;
  gint64 now = now_ms (), start = now - DX_CHART_SPAN_MS;
  GdkRGBA fg;
  cairo_t *cr;
  static const double grid[] = { 1, 10, 100, 1000, 10000 };
  static const char *const grid_labels[] = { "1 ms", "10 ms", "100 ms", "1 s", "10 s" };

  if (pw < 10 || ph < 10)
    return;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  trim (self->points, start);
  trim (self->marks, start);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));

  /* Grid: one line per decade. */
  cairo_set_line_width (cr, 1);
  for (guint i = 0; i < G_N_ELEMENTS (grid); i++) {
    double y = round (y_of (grid[i], top, ph)) + 0.5;
    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.15);
    cairo_move_to (cr, left, y);
    cairo_line_to (cr, left + pw, y);
    cairo_stroke (cr);
    GdkRGBA dim = fg;
    dim.alpha = 0.6;
    draw_text (self, cr, 2, y - 7, grid_labels[i], &dim);
  }
  {
    GdkRGBA dim = fg;
    dim.alpha = 0.6;
    draw_text (self, cr, left, top + ph + 3, _ ("−2 min"), &dim);
    draw_text (self, cr, left + pw - 24, top + ph + 3, _ ("now"), &dim);
  }

  /* Switch marks. */
  for (guint i = 0; i < self->marks->len; i++) {
    Point *m = &g_array_index (self->marks, Point, i);
    double x = round (left + pw * (double) (m->t - start) / DX_CHART_SPAN_MS) + 0.5;
    static const double dash[] = { 4, 3 };
    set_color (cr, dx_mode_color (m->mode), 0.9);
    cairo_set_dash (cr, dash, 2, 0);
    cairo_set_line_width (cr, 1.5);
    cairo_move_to (cr, x, top);
    cairo_line_to (cr, x, top + ph);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    GdkRGBA c;
    gdk_rgba_parse (&c, dx_mode_color (m->mode));
    draw_text (self, cr, x + 3, top, dx_mode_to_string (m->mode), &c);
  }

  /* Samples: a faint line per mode, then the dots. */
  for (guint mode = 0; mode < DX_N_MODES; mode++) {
    gboolean started = FALSE;
    set_color (cr, dx_mode_color (mode), 0.35);
    cairo_set_line_width (cr, 1);
    for (guint i = 0; i < self->points->len; i++) {
      Point *p = &g_array_index (self->points, Point, i);
      double x = left + pw * (double) (p->t - start) / DX_CHART_SPAN_MS;
      double y = y_of (p->ms, top, ph);
      if (p->mode != mode) {
        if (started)
          cairo_stroke (cr);
        started = FALSE;
        continue;
      }
      if (started)
        cairo_line_to (cr, x, y);
      else
        cairo_move_to (cr, x, y);
      started = TRUE;
    }
    if (started)
      cairo_stroke (cr);
  }
  for (guint i = 0; i < self->points->len; i++) {
    Point *p = &g_array_index (self->points, Point, i);
    double x = left + pw * (double) (p->t - start) / DX_CHART_SPAN_MS;
    set_color (cr, dx_mode_color (p->mode), 1.0);
    cairo_arc (cr, x, y_of (p->ms, top, ph), 2.5, 0, 2 * G_PI);
    cairo_fill (cr);
  }
  cairo_destroy (cr);
}

static gboolean
tick_cb (gpointer data)
{
  /* Time flows even without samples: scroll the axis. */
  gtk_widget_queue_draw (GTK_WIDGET (data));
  return G_SOURCE_CONTINUE;
}

static void
dx_chart_map (GtkWidget *widget)
{
  DxChart *self = DX_CHART (widget);

  GTK_WIDGET_CLASS (dx_chart_parent_class)->map (widget);
  if (self->tick == 0)
    self->tick = g_timeout_add (500, tick_cb, self);
}

static void
dx_chart_unmap (GtkWidget *widget)
{
  g_clear_handle_id (&DX_CHART (widget)->tick, g_source_remove);
  GTK_WIDGET_CLASS (dx_chart_parent_class)->unmap (widget);
}

static void
dx_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                  int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 120 : 90;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 280 : 160;
}

static void
dx_chart_finalize (GObject *object)
{
  DxChart *self = DX_CHART (object);

  g_clear_handle_id (&self->tick, g_source_remove);
  g_array_unref (self->points);
  g_array_unref (self->marks);
  G_OBJECT_CLASS (dx_chart_parent_class)->finalize (object);
}

static void
dx_chart_class_init (DxChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = dx_chart_finalize;
  widget_class->snapshot = dx_chart_snapshot;
  widget_class->measure = dx_chart_measure;
  widget_class->map = dx_chart_map;
  widget_class->unmap = dx_chart_unmap;
  gtk_widget_class_set_css_name (widget_class, "chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
dx_chart_init (DxChart *self)
{
  self->points = g_array_new (FALSE, FALSE, sizeof (Point));
  self->marks = g_array_new (FALSE, FALSE, sizeof (Point));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Latency chart"), -1);
}

GtkWidget *
dx_chart_new (void)
{
  return g_object_new (DX_TYPE_CHART, NULL);
}

/* DxMessageView in a real window (run under Xvfb): new lines scroll into
 * view while the reader is at the bottom and leave the view alone when they
 * read further up; older history put in front keeps the line being read in
 * place; scrolling to the top asks for older history. */
#include <gtk/gtk.h>

#include "dx-message-store.h"
#include "dx-message-view.h"

typedef struct _Fixture Fixture;
struct _Fixture {
  GtkWidget *window;
  DxMessageView *view;
  DxMessageStore *store;
  GtkAdjustment *adj;
  guint reached_top;
  double upper_before;
};

static DxMessage *
line (guint64 id)
{
  g_autofree char *text = g_strdup_printf ("line %" G_GUINT64_FORMAT, id);

  return dx_message_new ("lobby", id, "alice", text, 1700000000000 + (gint64) id, NULL);
}

static void
add_lines (DxMessageStore *store, guint64 first, guint64 last)
{
  for (guint64 id = first; id <= last; id++) {
    g_autoptr (DxMessage) m = line (id);
    dx_message_store_add (store, m);
  }
}

/* Run the main loop (layout on the frame clock, the view's low-priority
 * idles) until cond(f) holds or `ms` pass; NULL: just for `ms`. */
static gboolean
run_until (gboolean (*cond) (Fixture *), Fixture *f, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end) {
    while (g_main_context_iteration (NULL, FALSE))
      ;
    if (cond != NULL && cond (f))
      return TRUE;
    g_usleep (5000);
  }
  return cond == NULL || cond (f);
}

static void
settle (void)
{
  run_until (NULL, NULL, 300);
}

static gboolean
at_bottom (Fixture *f)
{
  return gtk_adjustment_get_value (f->adj)
         >= gtk_adjustment_get_upper (f->adj) - gtk_adjustment_get_page_size (f->adj) - 1;
}

static gboolean
moved_by_prepend (Fixture *f)
{
  double upper = gtk_adjustment_get_upper (f->adj);

  return upper > f->upper_before && gtk_adjustment_get_value (f->adj) == upper - f->upper_before;
}

static void
on_reached_top (DxMessageView *view, Fixture *f)
{
  f->reached_top++;
}

static GtkAdjustment *
find_vadjustment (GtkWidget *widget)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c)) {
    GtkAdjustment *adj;
    if (GTK_IS_SCROLLED_WINDOW (c))
      return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (c));
    if ((adj = find_vadjustment (c)) != NULL)
      return adj;
  }
  return NULL;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 400, 300);
  f->view = DX_MESSAGE_VIEW (dx_message_view_new ());
  f->store = dx_message_store_new ();
  dx_message_view_set_model (f->view, G_LIST_MODEL (f->store));
  g_signal_connect (f->view, "reached-top", G_CALLBACK (on_reached_top), f);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->view));
  f->adj = find_vadjustment (GTK_WIDGET (f->view));
  g_assert_nonnull (f->adj);
  gtk_window_present (GTK_WINDOW (f->window));
  add_lines (f->store, 101, 200);
  g_assert_true (run_until (at_bottom, f, 5000));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_object_unref (f->store);
  settle ();
}

static void
test_follows_tail (Fixture *f, gconstpointer data)
{
  g_assert_cmpfloat (gtk_adjustment_get_upper (f->adj), >, gtk_adjustment_get_page_size (f->adj));
  g_assert_true (dx_message_view_get_following (f->view));
  g_assert_true (at_bottom (f));
  add_lines (f->store, 201, 210);
  g_assert_true (run_until (at_bottom, f, 5000));
}

static void
test_reader_above_stays (Fixture *f, gconstpointer data)
{
  double value;

  gtk_adjustment_set_value (f->adj, gtk_adjustment_get_upper (f->adj) / 2);
  settle ();
  g_assert_false (dx_message_view_get_following (f->view));
  value = gtk_adjustment_get_value (f->adj);
  add_lines (f->store, 201, 210);
  settle ();
  g_assert_cmpfloat (gtk_adjustment_get_value (f->adj), ==, value);
  g_assert_false (at_bottom (f));
  /* After a send: follow again. */
  dx_message_view_set_following (f->view, TRUE);
  add_lines (f->store, 211, 211);
  g_assert_true (run_until (at_bottom, f, 5000));
}

static void
test_prepend_keeps_line (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) older = g_ptr_array_new_with_free_func (g_object_unref);
  gtk_adjustment_set_value (f->adj, 0);
  settle ();
  g_assert_cmpuint (f->reached_top, ==, 1);
  g_assert_false (dx_message_view_get_following (f->view));
  f->upper_before = gtk_adjustment_get_upper (f->adj);
  for (guint64 id = 51; id <= 100; id++)
    g_ptr_array_add (older, line (id));
  dx_message_store_prepend (f->store, older);
  /* The list grew above the view by as much as the view moved down. */
  g_assert_true (run_until (moved_by_prepend, f, 5000));
  /* ... and stays there: nothing moves it a second time. */
  settle ();
  g_assert_true (moved_by_prepend (f));
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add ("/message-view/follows-tail", Fixture, NULL, fixture_set_up, test_follows_tail,
              fixture_tear_down);
  g_test_add ("/message-view/reader-above-stays", Fixture, NULL, fixture_set_up,
              test_reader_above_stays, fixture_tear_down);
  g_test_add ("/message-view/prepend-keeps-line", Fixture, NULL, fixture_set_up,
              test_prepend_keeps_line, fixture_tear_down);
  return g_test_run ();
}

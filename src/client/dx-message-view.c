#include "dx-message-view.h"

#include "dx-message-row.h"
#include "dx-resources.h"

/* Within this many pixels of the bottom counts as reading the newest line:
 * a row's padding or a pixel of rounding must not stop the following. */
#define DX_FOLLOW_SLACK_PX 40

struct _DxMessageView {
  GtkWidget parent_instance;
  GtkWidget *scroller;
  GtkWidget *list;
  GListModel *messages;
  gboolean following;
  guint scroll_idle; /* pending scroll to the newest line */
};

G_DEFINE_FINAL_TYPE (DxMessageView, dx_message_view, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_LABEL, PROP_FOLLOWING, N_PROPS };
static GParamSpec *props[N_PROPS];

enum { SIG_REACHED_TOP, N_SIGNALS };
static guint signals[N_SIGNALS];

static GtkAdjustment *
vadjustment (DxMessageView *self)
{
  return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller));
}

static gboolean
scroll_to_end (gpointer data)
{
  DxMessageView *self = data;
  GtkAdjustment *adj = vadjustment (self);

  self->scroll_idle = 0;
  gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj));
  return G_SOURCE_REMOVE;
}

/* The scroll runs once the list has measured its new rows (layout comes
 * before low-priority idles), so the adjustment's upper bound is final.
 * Older history put in front needs nothing: GtkListView keeps its anchor
 * row where it is when rows are inserted before it, so the line being read
 * stays put (moving the view as well would jump by the history's height). */
static void
on_items_changed (GListModel *model, guint pos, guint removed, guint added, DxMessageView *self)
{
  if (added > 0 && self->following && self->scroll_idle == 0)
    self->scroll_idle = g_idle_add_full (G_PRIORITY_LOW, scroll_to_end, self, NULL);
}

static void
on_scrolled (GtkAdjustment *adj, DxMessageView *self)
{
  double bottom = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);
  gboolean following = gtk_adjustment_get_value (adj) >= bottom - DX_FOLLOW_SLACK_PX;

  if (following != self->following) {
    self->following = following;
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FOLLOWING]);
  }
}

/* The list measured rows it had only estimated (or wrapped lines anew):
 * the bottom moved, and a follower goes with it. */
static void
on_extent_changed (GtkAdjustment *adj, DxMessageView *self)
{
  double bottom = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);

  if (self->following && gtk_adjustment_get_value (adj) < bottom && self->scroll_idle == 0)
    self->scroll_idle = g_idle_add_full (G_PRIORITY_LOW, scroll_to_end, self, NULL);
}

static void
on_edge_reached (GtkScrolledWindow *sw, GtkPositionType pos, DxMessageView *self)
{
  if (pos == GTK_POS_TOP)
    g_signal_emit (self, signals[SIG_REACHED_TOP], 0);
}

void
dx_message_view_set_model (DxMessageView *self, GListModel *messages)
{
  GtkNoSelection *selection;

  if (self->messages != NULL) {
    g_signal_handlers_disconnect_by_data (self->messages, self);
    g_clear_object (&self->messages);
  }
  self->messages = messages != NULL ? g_object_ref (messages) : NULL;
  selection = gtk_no_selection_new (messages != NULL ? g_object_ref (messages) : NULL);
  gtk_list_view_set_model (GTK_LIST_VIEW (self->list), GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);
  if (messages != NULL)
    g_signal_connect (messages, "items-changed", G_CALLBACK (on_items_changed), self);
}

void
dx_message_view_set_following (DxMessageView *self, gboolean following)
{
  if (self->following == following)
    return;
  self->following = following;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FOLLOWING]);
}

gboolean
dx_message_view_get_following (DxMessageView *self)
{
  return self->following;
}

static void
dx_message_view_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  DxMessageView *self = DX_MESSAGE_VIEW (object);

  switch (prop_id) {
  case PROP_LABEL:
    /* The list is what a screen reader lands on: it carries the name. */
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    g_value_get_string (value), -1);
    break;
  case PROP_FOLLOWING: dx_message_view_set_following (self, g_value_get_boolean (value)); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_message_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DxMessageView *self = DX_MESSAGE_VIEW (object);

  switch (prop_id) {
  case PROP_FOLLOWING: g_value_set_boolean (value, self->following); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_message_view_dispose (GObject *object)
{
  DxMessageView *self = DX_MESSAGE_VIEW (object);

  g_clear_handle_id (&self->scroll_idle, g_source_remove);
  if (self->messages != NULL) {
    g_signal_handlers_disconnect_by_data (self->messages, self);
    g_clear_object (&self->messages);
  }
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_MESSAGE_VIEW);
  G_OBJECT_CLASS (dx_message_view_parent_class)->dispose (object);
}

static void
dx_message_view_class_init (DxMessageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dx_message_view_dispose;
  object_class->set_property = dx_message_view_set_property;
  object_class->get_property = dx_message_view_get_property;

  /* The accessible name of the list ("Messages"). */
  props[PROP_LABEL] =
      g_param_spec_string ("label", NULL, NULL, NULL, G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);
  /* New lines scroll into view (the reader is at the bottom). */
  props[PROP_FOLLOWING] =
      g_param_spec_boolean ("following", NULL, NULL, TRUE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  /* The reader scrolled to the oldest line held: time to fetch older. */
  signals[SIG_REACHED_TOP] = g_signal_new ("reached-top", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  dx_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-message-view.ui");
  gtk_widget_class_bind_template_child (widget_class, DxMessageView, scroller);
  gtk_widget_class_bind_template_child (widget_class, DxMessageView, list);
  gtk_widget_class_bind_template_callback (widget_class, on_scrolled);
  gtk_widget_class_bind_template_callback (widget_class, on_extent_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_edge_reached);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "messageview");
}

static void
dx_message_view_init (DxMessageView *self)
{
  g_autoptr (GtkListItemFactory) factory = dx_message_row_factory_new ();

  self->following = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_list_view_set_factory (GTK_LIST_VIEW (self->list), factory);
}

GtkWidget *
dx_message_view_new (void)
{
  return g_object_new (DX_TYPE_MESSAGE_VIEW, NULL);
}

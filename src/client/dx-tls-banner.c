#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-tls-banner.h"
#include "dx-tls-trust.h"

struct _DxTlsBanner {
  GtkBox parent_instance;
  GtkWidget *revealer;
  GtkWidget *label;
  GtkWidget *trust_button;
};

G_DEFINE_FINAL_TYPE (DxTlsBanner, dx_tls_banner, GTK_TYPE_BOX)

static void
on_refused (DxTlsTrust *trust, DxTlsBanner *self)
{
  g_autofree char *text = dx_tls_trust_describe_refusal (trust);

  gtk_label_set_text (GTK_LABEL (self->label), text);
  gtk_widget_set_visible (self->trust_button, dx_tls_trust_get_refused_can_trust (trust));
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->revealer), TRUE);
}

static void
on_trusted (DxTlsTrust *trust, DxTlsBanner *self)
{
  (void) trust;
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->revealer), FALSE);
}

static void
on_trust_clicked (GtkButton *button, DxTlsBanner *self)
{
  g_autoptr (GError) error = NULL;

  (void) button;
  /* The transport's next retry then connects (its backoff is short at first). */
  if (!dx_tls_trust_trust_refused (dx_tls_trust_get_default (), &error)) {
    g_autofree char *text =
        g_strdup_printf (_ ("Could not remember the certificate: %s"), error->message);
    gtk_label_set_text (GTK_LABEL (self->label), text);
  }
}

static void
dx_tls_banner_class_init (DxTlsBannerClass *klass)
{
  (void) klass;
}

static void
dx_tls_banner_init (DxTlsBanner *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  DxTlsTrust *trust = dx_tls_trust_get_default ();

  self->revealer = gtk_revealer_new ();
  self->label = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->label), 0);
  gtk_label_set_wrap (GTK_LABEL (self->label), TRUE);
  gtk_label_set_selectable (GTK_LABEL (self->label), TRUE);
  gtk_widget_set_hexpand (self->label, TRUE);
  self->trust_button = gtk_button_new_with_label (_ ("Trust This Certificate"));
  gtk_widget_set_valign (self->trust_button, GTK_ALIGN_CENTER);
  g_signal_connect (self->trust_button, "clicked", G_CALLBACK (on_trust_clicked), self);
  gtk_box_append (GTK_BOX (box), self->label);
  gtk_box_append (GTK_BOX (box), self->trust_button);
  gtk_widget_add_css_class (box, "error-banner");
  gtk_revealer_set_child (GTK_REVEALER (self->revealer), box);
  gtk_box_append (GTK_BOX (self), self->revealer);
  g_signal_connect_object (trust, "refused", G_CALLBACK (on_refused), self, 0);
  g_signal_connect_object (trust, "trusted", G_CALLBACK (on_trusted), self, 0);
  /* A refusal before this window existed (a second window) is shown too. */
  if (dx_tls_trust_get_refused_host (trust) != NULL)
    on_refused (trust, self);
}

GtkWidget *
dx_tls_banner_new (void)
{
  return g_object_new (DX_TYPE_TLS_BANNER, "orientation", GTK_ORIENTATION_VERTICAL, NULL);
}

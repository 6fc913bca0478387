#include "dx-config.h"

#include <glib/gi18n.h>

#include "protocol/message.h"

#include "dx-room-list.h"

static bool
collect_room (const char *name, uint64_t last_id, uint64_t online, void *user)
{
  g_ptr_array_add (user, g_variant_ref_sink (g_variant_new ("(stt)", name, last_id, online)));
  return true;
}

static void
rooms_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  GPtrArray *rooms = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  dx_msg_error err;

  if (error != NULL) {
    g_ptr_array_unref (rooms);
    g_task_return_error (task, error);
  } else if (soup_message_get_status (msg) != SOUP_STATUS_OK || json == NULL
             || !dx_decode_rooms (json, len, collect_room, rooms, &err)) {
    g_ptr_array_unref (rooms);
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s",
                             _ ("Bad room list from the server"));
  } else {
    g_task_return_pointer (task, rooms, (GDestroyNotify) g_ptr_array_unref);
  }
  g_object_unref (task);
}

void
dx_room_list_fetch (GObject *source_object, SoupSession *session, const char *server_url,
                    GCancellable *cancellable, GAsyncReadyCallback cb, gpointer user_data)
{
  GTask *task = g_task_new (source_object, cancellable, cb, user_data);
  g_autofree char *url = g_strconcat (server_url, "/api/v1/rooms", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  if (msg == NULL) {
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s",
                             _ ("Invalid server address"));
    g_object_unref (task);
    return;
  }
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, cancellable, rooms_done,
                                    task);
}

GPtrArray *
dx_room_list_fetch_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

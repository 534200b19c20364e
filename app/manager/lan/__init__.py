"""Being found and used on the studio's network.

The UPnP/SSDP answer that lets workers and the add-on find the Manager (`discovery`), the limits on
whom it answers and how often (`ssdp_guard`), and the Blender add-on the Manager hands out with its
own address in it (`addon_zip`).
"""

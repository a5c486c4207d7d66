"""Ironic's redfish-virtual-media boot, as its driver does it with sushy, against a Redfish
service: find the system's CD (the system's VirtualMedia if it has one, else its managers', as
Metal3's Ironic looks through Links.ManagedBy), eject what is in it, insert the image with
inserted=True and write_protected=True, set the boot device to CD for the next boot only, and
restart the machine.

Usage: sushy_vmedia.py URL USER PASSWORD_FILE SYSTEM_PATH IMAGE_URL
Prints "inserted PATH" and "booting cd" on success; any failure raises.
"""

import sys

import sushy

url, user, password_file, system_path, image = sys.argv[1:6]
with open(password_file) as f:
    password = f.read().strip()
root = sushy.Sushy(url, username=user, password=password, verify=False)
system = root.get_system(system_path)

collections = []
try:
    collections.append(system.virtual_media)
except sushy.exceptions.MissingAttributeError:
    pass
for manager in system.managers:
    collections.append(manager.virtual_media)
cd = None
for collection in collections:
    for member in collection.get_members():
        if sushy.VIRTUAL_MEDIA_CD in member.media_types:
            cd = member
            break
    if cd is not None:
        break
assert cd is not None, "no CD among the virtual media"

if cd.inserted:
    cd.eject_media()
    cd.refresh()
    assert not cd.inserted, "still inserted after the eject"
cd.insert_media(image, inserted=True, write_protected=True)
cd.refresh()
assert cd.inserted and cd.image == image, (cd.inserted, cd.image)
assert cd.write_protected
print("inserted", cd.path)

system.set_system_boot_options(
    sushy.BOOT_SOURCE_TARGET_CD, enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
system.refresh()
assert system.boot.target == sushy.BOOT_SOURCE_TARGET_CD, system.boot.target
system.reset_system(sushy.RESET_FORCE_RESTART)
print("booting cd")

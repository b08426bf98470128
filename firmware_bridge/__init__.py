"""Host side of the microcontroller link (imported as ``edgebind.firmware_bridge``)."""

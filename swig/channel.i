/* channel.i — filled in once capi/include/xssh/channel.h lands */

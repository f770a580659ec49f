/* SPDX-License-Identifier: MIT */
/* The port's ethdev operations: configure, queues, start and stop, MTU, MAC. */
#include <errno.h>
#include <string.h>

#include "dpdk/nivc_pvt.h"

static int nivc_configure(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;
	uint16_t n = RTE_MAX(dev->data->nb_rx_queues, dev->data->nb_tx_queues);

	if (n == 0 || n > NIVC_MAX_QP) {
		NIVC_LOG(ERR, "%u queue pairs: 1 to %u", n, NIVC_MAX_QP);
		return -EINVAL;
	}
	if (dev->data->dev_conf.rxmode.mq_mode != RTE_ETH_MQ_RX_NONE &&
	    dev->data->dev_conf.rxmode.mq_mode != RTE_ETH_MQ_RX_RSS) {
		NIVC_LOG(ERR, "Rx multi-queue mode %d is not supported",
			 dev->data->dev_conf.rxmode.mq_mode);
		return -ENOTSUP;
	}
	p->nb_qp = n;
	return 0;
}

static int nivc_info(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	(void)dev;
	info->max_mac_addrs = 1;
	info->max_rx_pktlen = NIVC_MAX_FRAME;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = NIVC_MAX_MTU;
	info->max_rx_queues = NIVC_MAX_QP;
	info->max_tx_queues = NIVC_MAX_QP;
	info->min_rx_bufsize = 0;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->rx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->speed_capa = RTE_ETH_LINK_SPEED_FIXED;
	info->dev_capa &= ~RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP;
	return 0;
}

static int nivc_rxq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			  unsigned int socket, const struct rte_eth_rxconf *conf,
			  struct rte_mempool *mp)
{
	struct nivc_port *p = dev->data->dev_private;

	(void)nb_desc, (void)socket, (void)conf;
	if (rte_pktmbuf_data_room_size(mp) <= RTE_PKTMBUF_HEADROOM) {
		NIVC_LOG(ERR, "queue %u: the pool's mbufs have no data room", qid);
		return -EINVAL;
	}
	p->qp[qid].rxq.mp = mp;
	p->qp[qid].rxq.seg_room =
		rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
	dev->data->rx_queues[qid] = &p->qp[qid].rxq;
	return 0;
}

static int nivc_txq_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
			  unsigned int socket, const struct rte_eth_txconf *conf)
{
	struct nivc_port *p = dev->data->dev_private;

	(void)nb_desc, (void)socket, (void)conf;
	dev->data->tx_queues[qid] = &p->qp[qid].txq;
	return 0;
}

static void nivc_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	(void)dev, (void)qid; /* the queues live in the port */
}

static void queues_state(struct rte_eth_dev *dev, uint8_t state)
{
	uint16_t q;

	for (q = 0; q < dev->data->nb_rx_queues; q++)
		dev->data->rx_queue_state[q] = state;
	for (q = 0; q < dev->data->nb_tx_queues; q++)
		dev->data->tx_queue_state[q] = state;
}

static int nivc_start(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;
	int rc;

	rc = nivc_intr_install(p);
	if (rc == 0)
		rc = nivc_ctl_start(p);
	if (rc < 0) {
		nivc_intr_uninstall(p);
		return rc;
	}
	queues_state(dev, RTE_ETH_QUEUE_STATE_STARTED);
	return 0;
}

static int nivc_stop(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;

	nivc_ctl_stop(p);
	nivc_intr_uninstall(p);
	queues_state(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return 0;
}

static int nivc_close(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;
	uint16_t q;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	nivc_ctl_stop(p);
	nivc_intr_uninstall(p);
	pthread_mutex_lock(&p->lock);
	nivc_zombies_reap(p, 1);
	pthread_mutex_unlock(&p->lock);
	for (q = 0; q < NIVC_MAX_QP; q++)
		nivc_intr_queue_fini(&p->qp[q]);
	rte_intr_instance_free(p->intr);
	p->intr = NULL;
	dev->intr_handle = NULL;
	dev->data->mac_addrs = NULL; /* part of dev_private */
	pthread_mutex_destroy(&p->lock);
	return 0;
}

static int nivc_link_update(struct rte_eth_dev *dev, int wait)
{
	(void)dev, (void)wait; /* the control thread keeps dev_link current */
	return 0;
}

static int nivc_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	(void)dev;
	/* ethdev checks [min_mtu, max_mtu] and stores it; frames above it
	 * are dropped both ways (nivc_rx.c, nivc_tx.c). */
	return mtu <= NIVC_MAX_MTU ? 0 : -EINVAL;
}

static int nivc_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	struct nivc_port *p = dev->data->dev_private;

	p->mac = *mac;
	return 0;
}

static int nivc_promisc(struct rte_eth_dev *dev)
{
	(void)dev; /* a channel carries every frame: there is nothing to filter */
	return 0;
}

const struct eth_dev_ops nivc_ops = {
	.dev_configure = nivc_configure,
	.dev_infos_get = nivc_info,
	.dev_start = nivc_start,
	.dev_stop = nivc_stop,
	.dev_close = nivc_close,
	.rx_queue_setup = nivc_rxq_setup,
	.tx_queue_setup = nivc_txq_setup,
	.rx_queue_release = nivc_queue_release,
	.tx_queue_release = nivc_queue_release,
	.link_update = nivc_link_update,
	.mtu_set = nivc_mtu_set,
	.mac_addr_set = nivc_mac_set,
	.promiscuous_enable = nivc_promisc,
	.promiscuous_disable = nivc_promisc,
	.allmulticast_enable = nivc_promisc,
	.allmulticast_disable = nivc_promisc,
	.stats_get = nivc_stats_get,
	.stats_reset = nivc_stats_reset,
	.xstats_get = nivc_xstats_get,
	.xstats_get_names = nivc_xstats_get_names,
	.xstats_reset = nivc_xstats_reset,
	.rx_queue_intr_enable = nivc_rx_intr_enable,
	.rx_queue_intr_disable = nivc_rx_intr_disable,
};
